/**
 * `rosterdrop serve` (= `npm start`): runs the FTPS drop server until SIGTERM/SIGINT; SIGHUP
 * reloads the TLS certificate. Uploads land in the domains' folders and are logged; the watcher,
 * queue and reports that turn them into syncs come with the daemon (issue 4).
 */
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../errors';

export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('run the FTPS drop server (SIGTERM/SIGINT stop it, SIGHUP reloads the TLS certificate)')
    .action(ctx.act(async () => {
      const { ConfigError, loadFtpsSettings } = await import('../../config/ftps');
      let settings;
      try {
        settings = loadFtpsSettings(ctx.env);
      } catch (err) {
        if (err instanceof ConfigError) throw new CliError(`invalid setting: ${err.message}`, EXIT.usage);
        throw err;
      }
      // Listen for stop signals first: one that arrives during start-up stops the server once it is up.
      const stopRequested = new Promise<void>((resolve) => {
        process.once('SIGTERM', () => resolve());
        process.once('SIGINT', () => resolve());
      });
      let reload = (): void => undefined; // SIGHUP before the server is up must not kill it
      process.on('SIGHUP', () => reload());
      ctx.defaultLogLevel = 'info';
      const log = await ctx.logger();
      const { startFtpsService } = await import('../../daemon/ftps-service');
      await ctx.withDatabase(async (ds) => {
        const service = await startFtpsService(ds, settings, {
          accept: (u) => { log.info('upload waiting for the queue (issue 4)', { domain: u.userspace, file: u.name, size: u.size, sha256: u.sha256 }); },
        }, log);
        reload = () => { void service.reloadTls(); };
        await stopRequested;
        reload = () => undefined;
        log.info('shutting down');
        await service.stop();
      });
    }));
}
