/**
 * The terminal log format shows control characters escaped (issue 17, defect 9): a pre-login USER
 * or a file name is the client's text, and must not drive the operator's terminal.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, forTerminal } from '../../src/util/logger';

test('escape sequences, bells and direction marks in a terminal log line are shown, not sent', async () => {
  const written: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => { written.push(String(chunk)); return true; }) as typeof process.stderr.write;
  try {
    const logger = createLogger({ json: false, stderr: true, level: 'info' });
    logger.warn('login failed', { login: 'x\u001b[2J\u001b]0;pwned\u0007\u202Etxt.zip' });
    await new Promise<void>((resolve) => logger.on('finish', resolve).end());
  } finally {
    process.stderr.write = write;
  }
  const line = written.join('');
  assert.ok(line.includes('login=x\\x1b[2J\\x1b]0;pwned\\x07\\u202etxt.zip'), line);
  assert.doesNotMatch(line.trimEnd(), /[\u0000-\u001f\u007f\u202e]/, 'no raw control character reaches the terminal');
  assert.equal(forTerminal('plain text, é and 漢字'), 'plain text, é and 漢字');
});
