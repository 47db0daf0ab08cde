/**
 * `rosterdrop serve` (= `npm start`): the daemon until SIGTERM/SIGINT; SIGHUP reloads the TLS
 * certificate. On SIGTERM it stops taking uploads, lets running syncs finish within the grace
 * period and exits; what was cut is queued again at the next start.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { npmLauncher, watchLauncher } from '../../daemon/launcher';
import { CliError, EXIT } from '../errors';

export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('run the daemon: FTPS server, watcher, queue, reports (SIGTERM/SIGINT stop it, SIGHUP reloads the TLS certificate)')
    .action(ctx.act(async () => {
      const { ConfigError } = await import('../../config/ftps');
      const { daemonPoolSize, loadDaemonSettings } = await import('../../config/daemon');
      let settings;
      try {
        settings = loadDaemonSettings(ctx.env);
      } catch (err) {
        if (err instanceof ConfigError) throw new CliError(`invalid setting: ${err.message}`, EXIT.usage);
        throw err;
      }
      // Listen for stop signals first: one that arrives during start-up stops the daemon once it is up.
      // The listeners stay for good (`on`, not `once`): with `once`, the daemon was seen killed by the
      // very SIGTERM it was handling (exit 143), and a second signal must not cut a shutdown short.
      const launcher = npmLauncher(ctx.env);
      let launcherGone = false;
      const stopRequested = new Promise<void>((resolve) => {
        process.on('SIGTERM', () => resolve());
        process.on('SIGINT', () => resolve());
        if (launcher !== null) watchLauncher(launcher, () => { launcherGone = true; resolve(); });
      });
      let reload = (): void => undefined; // SIGHUP before the server is up must not kill it
      process.on('SIGHUP', () => reload());
      ctx.setDefaultLogLevel('info');
      const log = await ctx.logger();
      const { ensureDemoDomain, startDaemon, warnIfNoAdministrator } = await import('../../daemon/daemon');
      await ctx.withDatabase(async (ds) => {
        await ensureDemoDomain(ds, (text) => ctx.out(text));
        await warnIfNoAdministrator(ds, log);
        const daemon = await startDaemon(ds, settings, log);
        reload = () => { void daemon.reloadTls(); };
        await stopRequested;
        reload = () => undefined;
        log.info(launcherGone ? `shutting down: npm (pid ${launcher}), which started the daemon, has exited` : 'shutting down');
        await daemon.stop();
      }, 'auto', daemonPoolSize(settings.concurrency));
    }));
}
