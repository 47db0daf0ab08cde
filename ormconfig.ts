/**
 * For the TypeORM CLI, e.g. `npx typeorm migration:show -d dist/ormconfig.js`.
 * rosterdrop itself connects through src/db/data-source.ts with the same settings.
 */
import { DataSource } from 'typeorm';
import { loadDatabaseOptions } from './src/config/database';
import { dataSourceOptions } from './src/db/data-source';

export default new DataSource(dataSourceOptions(loadDatabaseOptions(process.env)));
