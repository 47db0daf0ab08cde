import type { Command } from 'commander';
import { CliError, EXIT } from '../errors';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the daemon (FTPS server, folder watcher, queue): not built yet')
    .action(() => {
      throw new CliError('the daemon (FTPS server, watcher, queue) is not built yet; use `rosterdrop sync`', EXIT.usage);
    });
}
