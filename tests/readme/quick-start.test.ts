/**
 * The README's "Quick start" and "Set up your district", run as a newcomer would: the commands are
 * read from README.md itself, so the two cannot drift. They run in a copy of the project (every
 * tracked file and dist/, each package of node_modules linked), because `npm start` keeps its data
 * in the project's own `data/` and a test must not touch the developer's. `npm install` is not run
 * again: the suite runs after one. npm's cache is a folder of the copy's own, because the first
 * `npx rosterdrop` in a project links the project into npm's npx cache (and runs its `prepare`
 * build there). Interactive commands run on a pseudo-terminal (`script`), and the test
 * answers their password prompts as a person would. Two adaptations, both named here: the FTPS port
 * (and passive range) are free ones instead of 2121, and a command that fetches a result (a
 * `results/` download, `ls data/outbox/`) is retried until the daemon has written it, as a person
 * would try again a moment later.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { childEnv } from '../cli/harness';
import { freePort } from '../helpers/daemon';
import { REPO_ROOT } from '../helpers/paths';

const README = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

/** The text of a `## heading` section, up to the next `## `. */
function section(heading: string): string {
  const start = README.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `README has a "## ${heading}" section`);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end === -1 ? undefined : end);
}

/** The ```sh blocks of a section, as lists of command lines (comments stripped). */
function shellBlocks(text: string): string[][] {
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].split('\n')
    .map((l) => l.replace(/\s+#\s.*$/, '').trim()).filter(Boolean));
}

/** A guard against a hang, not an expectation of speed. */
const GUARD_MS = 120_000;

/** Runs one command line with bash on a pseudo-terminal, answering password prompts. */
function onTerminal(cwd: string, env: NodeJS.ProcessEnv, line: string, answer: (prompt: string) => string | null): Promise<{ code: number | null; output: string }> {
  const script = path.join(cwd, '.command.sh');
  fs.writeFileSync(script, `${line}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qefc', `bash -e ${script}`, '/dev/null'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let pending = '';
    const guard = setTimeout(() => child.kill('SIGKILL'), GUARD_MS);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output += text;
      pending += text;
      const reply = answer(pending);
      if (reply !== null) {
        pending = '';
        child.stdin.write(`${reply}\r`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(guard); resolve({ code, output: output.replace(/\r/g, '') }); });
  });
}

function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const alive = (pid: number): boolean => fs.existsSync(`/proc/${pid}`);

async function until<T>(what: string, probe: () => Promise<T | null> | T | null): Promise<T> {
  const deadline = Date.now() + GUARD_MS;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('README: quick start and district set-up, as printed', () => {
  let project: string;
  let npm: ChildProcess | null = null;
  let daemonPid = 0;
  let stdout = '';
  let stderr = '';
  let env: NodeJS.ProcessEnv;
  let port: number;
  let webPort: number;
  const passwords = new Map<string, string>();

  before(async () => {
    project = fs.mkdtempSync(path.join(os.tmpdir(), 'rosterdrop-readme-'));
    const skip = new Set(['.git', 'node_modules', 'data', '.bench']);
    for (const item of fs.readdirSync(REPO_ROOT)) {
      if (!skip.has(item)) fs.cpSync(path.join(REPO_ROOT, item), path.join(project, item), { recursive: true });
    }
    // a folder of links, not a link: npm would otherwise see the repository's own tree
    fs.mkdirSync(path.join(project, 'node_modules'));
    for (const item of fs.readdirSync(path.join(REPO_ROOT, 'node_modules'))) {
      fs.symlinkSync(path.join(REPO_ROOT, 'node_modules', item), path.join(project, 'node_modules', item));
    }
    port = await freePort();
    const pasv = await freePort();
    webPort = await freePort();
    env = childEnv({
      ROSTERDROP_FTPS_PORT: String(port), ROSTERDROP_FTPS_PASV_MIN: String(pasv), ROSTERDROP_FTPS_PASV_MAX: String(pasv),
      ROSTERDROP_HTTP_PORT: String(webPort),
      npm_config_cache: path.join(project, '.npm-cache'),
    });
    delete env.npm_lifecycle_event; // as in a newcomer's terminal, not inside `npm test`
  });

  after(() => {
    if (npm?.pid && alive(npm.pid)) npm.kill('SIGKILL');
    if (daemonPid && alive(daemonPid)) process.kill(daemonPid, 'SIGKILL');
    fs.rmSync(project, { recursive: true, force: true });
  });

  const adapt = (line: string) => line.replaceAll('127.0.0.1:2121', `127.0.0.1:${port}`).replaceAll('127.0.0.1:8443', `127.0.0.1:${webPort}`);
  const answer = (prompt: string): string | null => {
    const curl = /Enter host password for user '([^']+)':/.exec(prompt);
    if (curl) return passwords.get(curl[1]) ?? 'unknown login';
    if (/(New password|Repeat the password): $/.test(prompt)) return passwords.get('grandbend/alice') ?? '';
    return null;
  };
  /** Runs each line; a line that fetches what the daemon writes is retried until it succeeds. */
  async function runLines(lines: string[]): Promise<string[]> {
    const outputs: string[] = [];
    for (const line of lines) {
      const fetches = /\/results\/|^ls /.test(line);
      const r = fetches
        ? await until(line, async () => { const x = await onTerminal(project, env, adapt(line), answer); return x.code === 0 ? x : null; })
        : await onTerminal(project, env, adapt(line), answer);
      assert.equal(r.code, 0, `\`${line}\` failed:\n${r.output}\ndaemon:\n${stderr}`);
      outputs.push(r.output);
    }
    return outputs;
  }

  it('npm start, then the first upload: the result, the mail in the outbox, the status', async () => {
    const [start, upload, ...more] = shellBlocks(section('Quick start'));
    assert.equal(more.length, 0, 'two blocks: the first terminal and the second');
    assert.deepEqual(start, ['npm install', 'npm start']);
    npm = spawn('npm', ['start'], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
    npm.stdout?.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    npm.stderr?.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    passwords.set('demo/admin', await until('the demo password', () => /shown only now: (\S+)/.exec(stdout)?.[1] ?? null));
    await until('the daemon to run', () => (/"message":"rosterdrop is running"/.test(stderr) ? true : null));
    daemonPid = childPids(npm.pid as number)[0];
    assert.ok(daemonPid, 'npm start runs the daemon as its child');

    const outputs = await runLines(upload);
    assert.ok(fs.existsSync(path.join(project, 'export.zip')));
    const resultLine = upload.findIndex((l) => l.includes('/results/export.zip.txt'));
    assert.ok(resultLine >= 0, 'the quick start fetches the result');
    const promised = /here `([a-z_]+: export\.zip \(run \d+\))`/.exec(section('Quick start'))?.[1];
    assert.ok(promised, 'the README says what the first line of the result is');
    assert.equal(outputs[resultLine].split('\n').find((l) => l.includes('export.zip (run')), promised);
    assert.match(outputs[resultLine], /^First \d+ (error|warning)s? \(file:line:column rule: message\):$/m);

    const outbox = path.join(project, 'data', 'outbox');
    const mails = fs.readdirSync(outbox).filter((f) => f.endsWith('.eml'));
    assert.equal(mails.length, 1, 'one report mail');
    assert.match(fs.readFileSync(path.join(outbox, mails[0]), 'utf8'), /^To: admin@demo\.example\r?$/m);
    const statusLine = upload.findIndex((l) => l.includes('rosterdrop status'));
    assert.match(outputs[statusLine], /demo/);
  });

  it('the district set-up: a domain, its administrator, settings, and her first upload', async () => {
    passwords.set('grandbend/alice', 'Alice-sets-up-1');
    const [setup, ...more] = shellBlocks(section('Set up your district'));
    assert.equal(more.length, 0);
    await runLines(setup);
    const history = await until('the district\'s first run', async () => {
      const r = await onTerminal(project, env, 'node bin/rosterdrop.js history grandbend --json', () => null);
      const runs = (JSON.parse(r.output.slice(r.output.indexOf('{'))) as { runs: Array<{ status: string; uploadedBy: string | null }> }).runs;
      return runs.length && !['queued', 'running'].includes(runs[0].status) ? runs : null;
    });
    assert.match(history[0].status, /^(succeeded|completed_with_errors)$/);
    const outbox = path.join(project, 'data', 'outbox');
    await until('the mail to the district', () => (fs.readdirSync(outbox)
      .some((f) => /^To: alice@grandbend\.example\r?$/m.test(fs.readFileSync(path.join(outbox, f), 'utf8'))) ? true : null));
  });

  it('a SIGTERM to the `npm start` process stops the daemon too', async () => {
    assert.ok(npm?.pid && daemonPid);
    npm.kill('SIGTERM');
    await until('the daemon to exit', () => (alive(daemonPid) ? null : true));
    assert.match(stderr, /"message":"shutting down/);
  });

  it('when npm is killed outright (SIGKILL), the daemon notices that its launcher is gone and stops', async () => {
    stderr = '';
    npm = spawn('npm', ['start'], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
    npm.stderr?.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    await until('the daemon to run', () => (/"message":"rosterdrop is running"/.test(stderr) ? true : null));
    daemonPid = childPids(npm.pid as number)[0];
    assert.ok(daemonPid);
    npm.kill('SIGKILL');
    await until('the daemon to exit', () => (alive(daemonPid) ? null : true));
    assert.match(stderr, /shutting down: npm \(pid \d+\), which started the daemon, has exited/);
  });
});
