/**
 * Child process for report-crash.test.ts: the real daemon (`rosterdrop serve`, same settings from
 * the environment) that kills itself with SIGKILL the moment a run's report starts, i.e. after the
 * run's commit and before any result file, mail or archive move: the window a crash used to lose.
 *
 *   node dist/tests/daemon/crash-at-report-child.js
 */
import resultFiles = require('../../src/report/result-files');

// The reporter calls the module's export at call time (CommonJS), so replacing it here reaches
// the daemon's own code path without any test hook in the product.
Object.assign(resultFiles, {
  writeResultFiles: (): never => {
    process.kill(process.pid, 'SIGKILL');
    throw new Error('unreachable');
  },
});

process.argv = [process.argv[0], 'rosterdrop', 'serve'];
// eslint-disable-next-line @typescript-eslint/no-require-imports
(require('../../src/cli/main') as typeof import('../../src/cli/main')).run();
