#!/usr/bin/env node
// The `rosterdrop` command (also `npx rosterdrop`): a shim over the compiled CLI.
'use strict';
let cli;
try {
  cli = require('../dist/src/cli/main.js');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes('cli/main')) {
    process.stderr.write('rosterdrop: the CLI is not built yet: run `npm run build` in the rosterdrop folder\n');
    process.exit(1);
  }
  throw err;
}
cli.run();
