/**
 * The `rosterdrop` command: wiring of the verbs and the exit codes (see errors.ts). Results go to
 * stdout (text, or one JSON object with --json); logs, progress and errors go to stderr.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { PROJECT_ROOT } from '../config/database';
import { CliContext, message } from './context';
import { CliError, EXIT, EXIT_HELP, type ExitCode } from './errors';
import { registerDomain } from './commands/domain';
import { registerHistory } from './commands/history';
import { registerMigrate } from './commands/migrate';
import { registerRun } from './commands/run';
import { registerServe } from './commands/serve';
import { registerStatus } from './commands/status';
import { applySettingsFile, unknownEnvironmentVariables, unknownVariableMessage } from '../config/settings-file';
import { registerSettings } from './commands/settings';
import { registerSync } from './commands/sync';
import { registerToken } from './commands/token';
import { registerUser } from './commands/user';
import { boundHeapGrowth } from '../util/heap-growth';

function version(): string {
  try {
    const pkg: unknown = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));
    const v = (pkg as { version?: unknown }).version;
    return typeof v === 'string' ? v : 'unknown';
  } catch {
    return 'unknown';
  }
}

export function buildProgram(cli: CliContext): Command {
  const program = new Command('rosterdrop')
    .description('OneRoster 1.1 CSV ingestion into the LMS.\n' +
      'Database: PostgreSQL when DATABASE_URL is set, else the embedded file <data dir>/rosterdrop.sqlite ' +
      '(ROSTERDROP_DATA_DIR sets the data dir).')
    .version(version(), '-V, --version')
    .option('-v, --verbose', 'debug logs, and stack traces on errors')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', EXIT_HELP);
  program.hook('preAction', async () => {
    cli.verbose = !!program.opts<{ verbose?: boolean }>().verbose;
    await warnUnknownVariables(cli);
  });

  registerMigrate(program, cli);
  registerDomain(program, cli);
  registerUser(program, cli);
  registerSettings(program, cli);
  registerSync(program, cli);
  registerHistory(program, cli);
  registerRun(program, cli);
  registerServe(program, cli);
  registerStatus(program, cli);
  registerToken(program, cli);
  return program;
}

/** Every command (the daemon's start included) warns about `ROSTERDROP_*` variables it does not know. */
async function warnUnknownVariables(cli: CliContext): Promise<void> {
  const unknown = unknownEnvironmentVariables(cli.env);
  if (!unknown.length) return;
  const log = await cli.logger();
  for (const u of unknown) log.warn(unknownVariableMessage(u), { variable: u.name, closest: u.closest });
}

/** Runs the CLI and returns its exit code (never throws). */
export async function main(argv: readonly string[], cli = new CliContext()): Promise<ExitCode> {
  const program = buildProgram(cli);
  try {
    await program.parseAsync([...argv]);
    return cli.exitCode;
  } catch (err) {
    return report(err, cli);
  }
}

function report(err: unknown, cli: CliContext): ExitCode {
  if (err instanceof CommanderError) {
    // commander printed the message or the help already
    return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT.ok : EXIT.usage;
  }
  if (err instanceof CliError) {
    cli.err(`rosterdrop: ${err.message}`);
    return err.exitCode;
  }
  cli.err(`rosterdrop: internal error: ${message(err)}`);
  if (cli.verbose && err instanceof Error && err.stack) cli.err(err.stack);
  else cli.err('(run again with --verbose for the details)');
  return EXIT.internal;
}

/** The entry point of bin/rosterdrop.js. */
export function run(): void {
  boundHeapGrowth();
  // `rosterdrop … | head` closes stdout early: stop quietly
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  try {
    // the settings file fills in what the environment does not set, for every command and module
    applySettingsFile(process.env);
  } catch (err) {
    process.stderr.write(`rosterdrop: ${(err as Error).message}\n`);
    process.exitCode = EXIT.usage;
    return;
  }
  void main(process.argv).then((code) => { process.exitCode = code; });
}
