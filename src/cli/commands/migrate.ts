import type { Command } from 'commander';
import { loadDatabaseOptions } from '../../config/database';
import { CliError, EXIT } from '../errors';
import { describeDatabase, message, type CliContext } from '../context';
import { plural } from '../output';

export function registerMigrate(program: Command, cli: CliContext): void {
  program
    .command('migrate')
    .description('apply pending database migrations and print what ran (needed on PostgreSQL after an upgrade; the embedded database migrates itself)')
    .action(async () => {
      const where = describeDatabase(loadDatabaseOptions(cli.env));
      await cli.withDatabase(async (ds) => {
        let ran;
        try {
          ran = await ds.runMigrations({ transaction: 'each' });
        } catch (err) {
          throw new CliError(`migration failed on ${where} (nothing of the failed migration was kept): ${message(err)}`, EXIT.database);
        }
        if (!ran.length) cli.out(`${where}: the schema is up to date (${plural(ds.migrations.length, 'migration')} applied)`);
        for (const m of ran) cli.out(`${where}: applied ${m.name}`);
      }, 'none');
    });
}
