/**
 * For the TypeORM CLI, e.g. `npx typeorm migration:show -d dist/ormconfig.js`.
 * rosterdrop itself connects through src/db/data-source.ts with the same settings.
 */
import { loadDatabaseOptions } from './src/config/database';
import { dataSourceOptions, RosterDataSource } from './src/db/data-source';

export default new RosterDataSource(dataSourceOptions(loadDatabaseOptions(process.env)));
