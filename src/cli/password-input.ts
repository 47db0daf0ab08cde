/**
 * Passwords come from stdin, never from argv (argv shows in `ps` and shell history): the whole of
 * stdin when it is a pipe or a file (one trailing line break dropped), or a prompt without echo,
 * typed twice, when it is a terminal. Passwords are never printed or logged.
 */
import { CliError, EXIT } from './errors';

const MAX_STDIN = 64 * 1024;

export interface PasswordStreams {
  stdin: NodeJS.ReadStream;
  stderr: NodeJS.WriteStream;
}

export async function readNewPassword(io: PasswordStreams): Promise<string> {
  if (io.stdin.isTTY) {
    const first = await promptHidden(io, 'New password: ');
    const again = await promptHidden(io, 'Repeat the password: ');
    if (first !== again) throw new CliError('the passwords do not match');
    if (!first) throw new CliError('no password given');
    return first;
  }
  return readPipedPassword(io.stdin);
}

export async function readPipedPassword(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buf.length;
    if (size > MAX_STDIN) throw new CliError('stdin is too long for a password');
    chunks.push(buf);
  }
  const text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (!text) throw new CliError('no password on stdin (pipe it in, e.g. `printf %s "$PW" | rosterdrop user passwd …`)');
  if (/[\r\n]/.test(text)) throw new CliError('the password on stdin must be a single line');
  return text;
}

function promptHidden(io: PasswordStreams, prompt: string): Promise<string> {
  const { stdin, stderr } = io;
  return new Promise((resolve, reject) => {
    let value = '';
    const wasRaw = stdin.isRaw;
    const finish = (err?: CliError) => {
      stdin.removeListener('data', onData);
      stdin.setRawMode(wasRaw);
      stdin.pause();
      stderr.write('\n');
      if (err) reject(err); else resolve(value);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new CliError('cancelled', EXIT.interrupted));
        if (ch === '\u0004') return value ? finish() : finish(new CliError('no password given'));
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch === '\u0015') value = '';
        else if (ch >= ' ') value += ch;
      }
    };
    stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.resume();
  });
}
