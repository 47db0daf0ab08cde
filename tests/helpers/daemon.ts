/**
 * The real daemon (`rosterdrop serve`) as a child process, its JSON log lines parsed as they come.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { BIN } from '../cli/harness';
import { REPO_ROOT } from './paths';

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export interface Daemon {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  /** resolves with the first log line matching */
  waitFor(message: RegExp): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
  /** what the daemon printed on stdout (the demo password, once) */
  stdout(): string;
}

export function startServe(env: NodeJS.ProcessEnv): Daemon {
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{ re: RegExp; resolve: (l: Record<string, unknown>) => void }> = [];
  let buffer = '';
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => { out += s; });
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    buffer += s;
    for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        line = { message: text };
      }
      lines.push(line);
      for (const w of waiters.splice(0)) {
        if (w.re.test(String(line.message))) w.resolve(line);
        else waiters.push(w);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child, lines, exited, stdout: () => out,
    waitFor: (re) => {
      const seen = lines.find((l) => re.test(String(l.message)));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ re, resolve });
        // a guard against a hang, not an expectation of speed: a loaded machine may take long
        setTimeout(() => reject(new Error(`no log line ${re} in:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`)), 120_000).unref();
      });
    },
  };
}

