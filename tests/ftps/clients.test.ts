/**
 * Interoperability with real FTPS clients nobody here wrote: curl (explicit `--ssl-reqd ftp://` and
 * implicit `ftps://`), lftp (GnuTLS, FileZilla's TLS library), Python's `ftplib.FTP_TLS` and the
 * basic-ftp npm package. Each client logs in many times in a row (the AUTH TLS race of stock
 * ftp-srv only shows over repetitions), uploads a zip, lists the folder and deletes the upload; the
 * sink must see every upload once, with the size and SHA-256 of the bytes sent, under its final
 * name, and nothing may be left behind. Also: /validate/ and /domains/<sub>/ uploads, empty
 * listings and downloads, downloads of what the daemon wrote into results/, and required TLS
 * session reuse on data connections.
 *
 * Each client has its own server (and drop folder), so the suites run concurrently.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Client } from 'basic-ftp';
import winston from 'winston';
import type { CompletedUpload, UploadSink } from '../../src/ftps/types';
import type { Logger } from '../../src/util/logger';
import { ADMIN_LOGIN, ADMIN_PASSWORD, domainDir, hiddenFiles, run, startFtps, visibleFiles, type ConfigPatch, type FtpsFixture, type RunResult } from '../helpers/ftps';
import { lftp as lftpSession, lftpQuote } from '../helpers/lftp';
import { makeZip, tempDir } from '../helpers/zip';

/** Logins (each with one upload) per client in a row: the AUTH TLS race needs repetitions to show. */
const ROUNDS = 20;
const HOST = '127.0.0.1';

/** What the sink saw, checked the moment it was called (before the client got its 226). */
interface Received {
  upload: CompletedUpload;
  /** SHA-256 of the file found at `upload.path` */
  onDisk: string | null;
  /** hidden names in that folder then (temp files) */
  hidden: string[];
}

/** A sink that records each upload and what is on disk when it arrives. */
function inspectingSink(received: Received[]): UploadSink {
  return {
    accept: async (upload) => {
      const bytes = await fs.promises.readFile(upload.path).catch(() => null);
      received.push({
        upload,
        onDisk: bytes ? sha256(bytes) : null,
        hidden: hiddenFiles(path.dirname(upload.path)),
      });
    },
  };
}

/** A logger that keeps every line (JSON) for assertions on the server's reasons. */
function capturingLogger(lines: Array<Record<string, unknown>>): Logger {
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      cb();
    },
  });
  return winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
}

interface Server {
  fx: FtpsFixture;
  received: Received[];
  log: Array<Record<string, unknown>>;
}

async function startServer(patch: ConfigPatch = {}): Promise<Server> {
  const received: Received[] = [];
  const log: Array<Record<string, unknown>> = [];
  const fx = await startFtps(patch, { sink: inspectingSink(received), logger: capturingLogger(log) });
  return { fx, received, log };
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** Where an upload goes: the user's folder, its validate/ area, or a subdomain's folder. */
interface Target {
  /** the folder as the client names it ('' is the login's root) */
  folder: '' | 'validate' | 'domains/school-a';
  userspace: 'district' | 'school-a';
  validateOnly: boolean;
}

const TARGETS: Target[] = [
  { folder: '', userspace: 'district', validateOnly: false },
  { folder: '', userspace: 'district', validateOnly: false },
  { folder: 'validate', userspace: 'district', validateOnly: true },
  { folder: 'domains/school-a', userspace: 'school-a', validateOnly: false },
];
/** Zip payload sizes: small, around TLS record and stream buffer sizes, and a few MB. */
const SIZES = [10, 1000, 16_300, 16_384, 70_000, 300_000, 1_200_000, 3_000_000];

interface Upload {
  local: string;
  /** the remote file name: some have spaces, every one is distinct */
  name: string;
  size: number;
  sha256: string;
  target: Target;
}

/** A real zip (stored, random content, so every upload has different bytes) for round `i`. */
async function makeUpload(dir: string, client: string, i: number): Promise<Upload> {
  const name = i % 3 === 1 ? `OneRoster ${client} export ${i}.zip` : `roster-${client}-${i}.zip`;
  const local = path.join(dir, `${client}-${i}.zip`);
  await makeZip(local, { 'manifest.csv': 'propertyName,value\nmanifest.version,1.0\n', 'payload.bin': randomBytes(SIZES[i % SIZES.length]) }, { compress: false });
  const bytes = fs.readFileSync(local);
  return { local, name, size: bytes.length, sha256: sha256(bytes), target: TARGETS[i % TARGETS.length] };
}

/** What a client saw in one session: the folder listing after the upload and after the delete. */
interface Seen {
  listed: string;
  after: string;
}

/** One login: upload, list the folder, delete the upload, list again. Throws on any failure. */
type RoundTrip = (server: Server, upload: Upload, work: string) => Promise<Seen>;

function assertRan(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed (exit ${String(r.code)}):\n${r.stderr}\n${r.stdout}`);
}

// ---- curl -------------------------------------------------------------------------------------

const encodePath = (p: string): string => p.split('/').map(encodeURIComponent).join('/');

/**
 * `oneTransferPerLogin`: curl (OpenSSL, TLS 1.3) spends the control connection's session ticket on
 * the first data connection and gets no new one from an upload, so on a reused control connection
 * its next data connection makes a full handshake (curl issue #4654; vsftpd with require_ssl_reuse
 * refuses it alike). Where resumption is required, each curl run therefore does one transfer.
 */
function curlRoundTrip(mode: 'explicit' | 'implicit', opts: { oneTransferPerLogin?: boolean; tlsMax?: '1.2' } = {}): RoundTrip {
  const { oneTransferPerLogin = false, tlsMax } = opts;
  return async ({ fx }, upload, work) => {
    const base = mode === 'explicit'
      ? [`ftp://${HOST}:${fx.port}`, '--ssl-reqd']
      : [`ftps://${HOST}:${String(fx.implicitPort)}`];
    const [root, ...tlsArgs] = base;
    if (tlsMax) tlsArgs.push('--tls-max', tlsMax);
    const common = [...tlsArgs, '-k', '-sS', '--max-time', '30', '-u', `${ADMIN_LOGIN}:${ADMIN_PASSWORD}`];
    const folderUrl = `${root}/${upload.target.folder ? `${encodePath(upload.target.folder)}/` : ''}`;
    const listed = path.join(work, 'listed.txt');
    const afterDelete = path.join(work, 'after.txt');
    const steps = [
      [...common, '-T', upload.local, `${folderUrl}${encodeURIComponent(upload.name)}`],
      [...common, '-o', listed, '-Q', `-DELE ${upload.name}`, folderUrl], // lists, then deletes
      [...common, '-o', afterDelete, folderUrl],
    ];
    if (oneTransferPerLogin) {
      for (const step of steps) assertRan(await run('curl', step, { timeoutMs: 40_000 }), `curl (${mode})`);
    } else {
      // One curl run, one login: --next reuses the control connection for the three transfers;
      // --fail-early makes the exit status tell about every one of them, not just the last.
      assertRan(await run('curl', ['--fail-early', ...steps[0], '--next', ...steps[1], '--next', ...steps[2]], { timeoutMs: 40_000 }), `curl (${mode})`);
    }
    return { listed: fs.readFileSync(listed, 'utf8'), after: fs.readFileSync(afterDelete, 'utf8') };
  };
}

// ---- lftp -------------------------------------------------------------------------------------

function lftp({ fx }: Server, commands: string[]): Promise<RunResult> {
  return lftpSession(fx, commands);
}

const lftpRoundTrip: RoundTrip = async (server, upload) => {
  const marker = '----- deleted -----';
  const r = await lftp(server, [
    ...(upload.target.folder ? [`cd ${lftpQuote(upload.target.folder)}`] : []),
    `put ${lftpQuote(upload.local)} -o ${lftpQuote(upload.name)}`,
    'cls -1', `rm ${lftpQuote(upload.name)}`, `echo ${lftpQuote(marker)}`, 'cls -1',
  ]);
  assertRan(r, 'lftp');
  const [listed, after] = r.stdout.split(`${marker}\n`);
  assert.ok(after !== undefined, `lftp output:\n${r.stdout}`);
  return { listed, after };
};

// ---- Python ftplib ----------------------------------------------------------------------------

/** Credentials come in argv, never in the script text. Prints one JSON object. */
const PYTHON_CLIENT = String.raw`
import ftplib, json, ssl, sys
host, port, login, password, action = sys.argv[1:6]
args = sys.argv[6:]
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
ftp = ftplib.FTP_TLS(context=context, timeout=20)
ftp.connect(host, int(port))
ftp.login(login, password)
ftp.prot_p()
out = {}
if action == 'roundtrip':
    local, folder, name = args
    if folder:
        ftp.cwd(folder)
    with open(local, 'rb') as f:
        out['stored'] = ftp.storbinary('STOR ' + name, f)
    lines = []
    ftp.retrlines('LIST', lines.append)
    out['listed'] = '\n'.join(lines)
    out['deleted'] = ftp.delete(name)
    out['after'] = '\n'.join(ftp.nlst())
elif action == 'store':
    local, name = args
    with open(local, 'rb') as f:
        out['stored'] = ftp.storbinary('STOR ' + name, f)
elif action == 'retr':
    remote, local = args
    with open(local, 'wb') as f:
        out['retrieved'] = ftp.retrbinary('RETR ' + remote, f.write)
out['quit'] = ftp.quit()
print(json.dumps(out))
`;

function python({ fx }: Server, action: string, ...args: string[]): Promise<RunResult> {
  return run('python3', ['-c', PYTHON_CLIENT, HOST, String(fx.port), ADMIN_LOGIN, ADMIN_PASSWORD, action, ...args], { timeoutMs: 40_000 });
}

const pythonRoundTrip: RoundTrip = async (server, upload) => {
  const r = await python(server, 'roundtrip', upload.local, upload.target.folder, upload.name);
  assertRan(r, 'python ftplib');
  const out = JSON.parse(r.stdout) as { stored: string; listed: string; deleted: string; after: string };
  assert.match(out.stored, /^226 /);
  assert.match(out.deleted, /^250 /);
  return { listed: out.listed, after: out.after };
};

// ---- basic-ftp --------------------------------------------------------------------------------

async function basicFtp<T>({ fx }: Server, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client(20_000);
  try {
    await client.access({ host: HOST, port: fx.port, user: ADMIN_LOGIN, password: ADMIN_PASSWORD, secure: true, secureOptions: { rejectUnauthorized: false } });
    return await work(client);
  } finally {
    client.close();
  }
}

const basicFtpRoundTrip: RoundTrip = (server, upload) => basicFtp(server, async (client) => {
  if (upload.target.folder) await client.cd(upload.target.folder);
  const stored = await client.uploadFrom(upload.local, upload.name);
  assert.equal(stored.code, 226);
  const listed = (await client.list()).map((f) => f.name).join('\n');
  await client.remove(upload.name);
  const after = (await client.list()).map((f) => f.name).join('\n');
  return { listed, after };
});

// ---- the checks ---------------------------------------------------------------------------------

/**
 * `rounds` logins in a row, each uploading, listing and deleting one zip; every single one must
 * succeed and reach the sink exactly as sent.
 */
async function repeatRoundTrips(server: Server, client: string, roundTrip: RoundTrip, rounds: number): Promise<void> {
  const { dir, cleanup } = tempDir(`rosterdrop-${client}-`);
  try {
    for (let i = 0; i < rounds; i++) {
      const upload = await makeUpload(dir, client, i);
      const before = server.received.length;
      const seen = await roundTrip(server, upload, dir).catch((err: unknown) => {
        throw new Error(`${client}, round ${i + 1} of ${rounds} (${upload.name} to /${upload.target.folder}): ${err instanceof Error ? err.message : String(err)}`);
      });
      assertRoundTrip(server, upload, seen, before, `${client} round ${i + 1}`);
    }
  } finally {
    cleanup();
  }
}

function assertRoundTrip({ fx, received }: Server, upload: Upload, seen: Seen, before: number, what: string): void {
  const { target } = upload;
  const folder = path.join(domainDir(fx, target.userspace), target.validateOnly ? 'validate' : '');
  assert.equal(received.length, before + 1, `${what}: the sink got exactly this upload`);
  const got = received[before];
  assert.deepEqual(
    {
      userspace: got.upload.userspace, login: got.upload.login, name: got.upload.name, path: got.upload.path,
      size: got.upload.size, sha256: got.upload.sha256, validateOnly: got.upload.validateOnly, remoteAddress: got.upload.remoteAddress,
    },
    {
      userspace: target.userspace, login: ADMIN_LOGIN, name: upload.name, path: path.join(folder, upload.name),
      size: upload.size, sha256: upload.sha256, validateOnly: target.validateOnly, remoteAddress: HOST,
    },
    `${what}: the sink's record`,
  );
  assert.equal(got.onDisk, upload.sha256, `${what}: the file was under its final name with the bytes sent when the sink was called`);
  assert.deepEqual(got.hidden, [], `${what}: no temp file next to it then`);
  assert.ok(seen.listed.includes(upload.name), `${what}: the listing shows the upload:\n${seen.listed}`);
  assert.ok(!seen.after.includes(upload.name), `${what}: the listing after DELE does not:\n${seen.after}`);
  assert.ok(!fs.existsSync(path.join(folder, upload.name)), `${what}: DELE removed the file`);
  assert.deepEqual(visibleFiles(folder).filter((n) => n.endsWith('.zip')), [], `${what}: no upload left in the folder`);
  assert.deepEqual(hiddenFiles(folder), [], `${what}: no hidden temp file left`);
}

/** A file as the daemon writes it into results/: JSON with CRLF, LF and non-ASCII, so any text-mode
 * conversion or truncation shows. */
function writeResult(fx: FtpsFixture, name: string): Buffer {
  const rows = Array.from({ length: 4000 }, (_, i) => ({ row: i, issue: `Zoë's row ${i}: “quoted”\r\nnext`, bytes: randomBytes(8).toString('base64') }));
  const bytes = Buffer.from(`${JSON.stringify({ status: 'ok', rows }, null, 1).replace(/\n/g, (m, off: number) => (off % 2 ? '\r\n' : m))}\n`, 'utf8');
  const dir = path.join(domainDir(fx, 'district'), 'results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), bytes);
  return bytes;
}

/** Forces a full garbage collection (a stream on a FileHandle's bare fd crashed the server then). */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

/** Waits until the server has closed every control connection (clients have exited by then). */
async function settled(fx: FtpsFixture): Promise<void> {
  const deadline = Date.now() + 60_000; // a guard against a hang, not a speed expectation
  while (fx.server.connectionCount > 0 && Date.now() < deadline) await sleep(50);
}

// -----------------------------------------------------------------------------------------------

describe('real FTPS clients', { concurrency: true }, () => {
  describe('curl', { concurrency: 1 }, () => {
    let server: Server;
    before(async () => { server = await startServer({ implicitPort: 0 }); });
    after(async () => { await server?.fx.stop(); });

    it(`explicit FTPS (--ssl-reqd ftp://): ${ROUNDS} logins in a row, each uploads a zip, lists and deletes it`, async () => {
      await repeatRoundTrips(server, 'curl', curlRoundTrip('explicit'), ROUNDS);
    });

    it(`implicit FTPS (ftps://): ${ROUNDS} logins in a row, each uploads a zip, lists and deletes it`, async () => {
      await repeatRoundTrips(server, 'curl-implicit', curlRoundTrip('implicit'), ROUNDS);
    });
  });

  describe('lftp', { concurrency: 1 }, () => {
    let server: Server;
    before(async () => { server = await startServer(); });
    after(async () => { await server?.fx.stop(); });

    it(`${ROUNDS} logins in a row, each uploads a zip (put), lists (cls) and deletes it (rm)`, async () => {
      await repeatRoundTrips(server, 'lftp', lftpRoundTrip, ROUNDS);
    });
  });

  describe('Python ftplib.FTP_TLS', { concurrency: 1 }, () => {
    let server: Server;
    before(async () => { server = await startServer(); });
    after(async () => { await server?.fx.stop(); });

    it(`login() then prot_p(): ${ROUNDS} logins in a row, each uploads a zip (storbinary), lists and deletes it`, async () => {
      await repeatRoundTrips(server, 'python', pythonRoundTrip, ROUNDS);
    });
  });

  describe('basic-ftp', { concurrency: 1 }, () => {
    let server: Server;
    before(async () => { server = await startServer(); });
    after(async () => { await server?.fx.stop(); });

    it(`secure: true: ${ROUNDS} logins in a row, each uploads a zip, lists and deletes it`, async () => {
      await repeatRoundTrips(server, 'basic-ftp', basicFtpRoundTrip, ROUNDS);
    });
  });

  describe('folders and downloads', { concurrency: 1 }, () => {
    let server: Server;
    let work: { dir: string; cleanup(): void };
    before(async () => {
      server = await startServer();
      work = tempDir('rosterdrop-clients-');
    });
    after(async () => {
      await server?.fx.stop();
      work?.cleanup();
    });

    it('an upload into /validate/ arrives with validateOnly true; one into / with false', async () => {
      const upload = await makeUpload(work.dir, 'validate', 0);
      const before = server.received.length;
      await basicFtp(server, async (client) => {
        await client.uploadFrom(upload.local, `validate/${upload.name}`);
        await client.uploadFrom(upload.local, upload.name);
      });
      assert.deepEqual(server.received.slice(before).map((r) => [r.upload.validateOnly, r.upload.userspace, r.upload.path, r.upload.sha256]), [
        [true, 'district', path.join(domainDir(server.fx, 'district'), 'validate', upload.name), upload.sha256],
        [false, 'district', path.join(domainDir(server.fx, 'district'), upload.name), upload.sha256],
      ]);
      assert.deepEqual(visibleFiles(path.join(domainDir(server.fx, 'district'), 'validate')), [upload.name]);
    });

    it('a district admin sees /domains/school-a/ and an upload there arrives with userspace school-a', async () => {
      const upload = await makeUpload(work.dir, 'subdomain', 0);
      const before = server.received.length;
      const listings = await basicFtp(server, async (client) => {
        const root = (await client.list()).map((f) => f.name);
        const domains = (await client.list('domains')).map((f) => f.name);
        await client.cd('domains/school-a');
        await client.uploadFrom(upload.local, upload.name);
        const schoolA = (await client.list()).map((f) => f.name);
        return { root, domains, schoolA };
      });
      assert.ok(listings.root.includes('domains'), listings.root.join());
      assert.deepEqual(listings.domains, ['school-a']);
      assert.ok(listings.schoolA.includes(upload.name), listings.schoolA.join());
      assert.equal(server.received.length, before + 1);
      const got = server.received[before].upload;
      assert.deepEqual([got.userspace, got.login, got.validateOnly, got.path, got.size, got.sha256],
        ['school-a', ADMIN_LOGIN, false, path.join(domainDir(server.fx, 'school-a'), upload.name), upload.size, upload.sha256]);
      assert.deepEqual(visibleFiles(domainDir(server.fx, 'school-a')).filter((n) => n.endsWith('.zip')), [upload.name]);
      assert.ok(!fs.existsSync(path.join(domainDir(server.fx, 'district'), upload.name)), 'nothing landed in the parent domain');
    });

    it('an empty folder lists as empty and an empty file downloads as empty with clients that handshake after the 150', async () => {
      // Python and lftp start the data TLS handshake only after the 150: a server that ends the data
      // connection at once (nothing to send) must still wait for that handshake.
      const empty = path.join(domainDir(server.fx, 'school-a'), 'results');
      fs.mkdirSync(empty, { recursive: true });
      fs.writeFileSync(path.join(empty, 'empty.json'), '');
      const listed = await lftp(server, ['cls -1 domains/school-a/validate/', 'echo listed', 'cls -1 domains/school-a/validate/']);
      assertRan(listed, 'lftp empty listing');
      assert.equal(listed.stdout, 'listed\n');
      const downloaded = path.join(work.dir, 'empty.json');
      const p = await python(server, 'retr', 'domains/school-a/results/empty.json', downloaded);
      assertRan(p, 'python RETR of an empty file');
      assert.equal(fs.statSync(downloaded).size, 0);
      // And the server is still there for the next client.
      assertRan(await lftp(server, ['cls -1 validate']), 'lftp after');
    });

    it('RETR of a file the daemon wrote into results/ returns its exact bytes, with curl and with Python', async () => {
      const expected = writeResult(server.fx, 'x.json');
      const byCurl = path.join(work.dir, 'curl-x.json');
      const c = await run('curl', ['--ssl-reqd', '-k', '-sS', '--max-time', '30', '-u', `${ADMIN_LOGIN}:${ADMIN_PASSWORD}`,
        '-o', byCurl, `ftp://${HOST}:${server.fx.port}/results/x.json`]);
      assertRan(c, 'curl RETR');
      assert.equal(sha256(fs.readFileSync(byCurl)), sha256(expected));
      assert.ok(fs.readFileSync(byCurl).equals(expected));

      const byPython = path.join(work.dir, 'python-x.json');
      const p = await python(server, 'retr', 'results/x.json', byPython);
      assertRan(p, 'python RETR');
      assert.match((JSON.parse(p.stdout) as { retrieved: string }).retrieved, /^226 /);
      assert.ok(fs.readFileSync(byPython).equals(expected));

      // Downloads must not leave file handles for the garbage collector: closing one there failed
      // (EBADF) and took the whole process down, or closed a descriptor reused by then.
      collectGarbage();
      await sleep(50);
      const again = path.join(work.dir, 'curl-x2.json');
      assertRan(await run('curl', ['--ssl-reqd', '-k', '-sS', '--max-time', '30', '-u', `${ADMIN_LOGIN}:${ADMIN_PASSWORD}`,
        '-o', again, `ftp://${HOST}:${server.fx.port}/results/x.json`]), 'curl RETR after GC');
      collectGarbage();
      await sleep(50);
      assert.ok(fs.readFileSync(again).equals(expected));
      assert.ok(fs.readFileSync(path.join(domainDir(server.fx, 'district'), 'results', 'x.json')).equals(expected), 'the results file is untouched');
    });
  });

  describe('required TLS session reuse on data connections', { concurrency: 1 }, () => {
    let strict: Server;
    let work: { dir: string; cleanup(): void };
    before(async () => {
      // A short data-connect timeout: a client that cannot resume is refused after it.
      strict = await startServer({ requireTlsSessionReuse: true, timeouts: { dataConnectMs: 2000 } });
      work = tempDir('rosterdrop-reuse-');
    });
    after(async () => {
      await strict?.fx.stop();
      work?.cleanup();
    });

    it('curl resumes the control session: uploads, listings and deletes succeed (one transfer per login)', async () => {
      await repeatRoundTrips(strict, 'curl-reuse', curlRoundTrip('explicit', { oneTransferPerLogin: true }), 5);
    });

    it('curl limited to TLS 1.2 (no tickets: it resumes by session ID) does all three transfers on one login', async () => {
      await repeatRoundTrips(strict, 'curl-tls12-reuse', curlRoundTrip('explicit', { tlsMax: '1.2' }), 5);
    });

    it('lftp (GnuTLS, like FileZilla) resumes it too, though it handshakes only after the 150', async () => {
      await repeatRoundTrips(strict, 'lftp-reuse', lftpRoundTrip, 5);
    });

    it('basic-ftp resumes it too', async () => {
      await repeatRoundTrips(strict, 'basic-ftp-reuse', basicFtpRoundTrip, 5);
    });

    it('Python\'s stock ftplib, which does not pass the session on, cannot transfer; without the requirement it can', async () => {
      const upload = await makeUpload(work.dir, 'python-reuse', 0);
      const before = strict.received.length;
      const refused = await python(strict, 'store', upload.local, upload.name);
      assert.notEqual(refused.code, 0, `the upload must fail:\n${refused.stdout}`);
      await settled(strict.fx);
      assert.equal(strict.received.length, before, 'nothing reached the sink');
      assert.deepEqual(visibleFiles(domainDir(strict.fx, 'district')).filter((n) => n.endsWith('.zip')), []);
      assert.deepEqual(hiddenFiles(domainDir(strict.fx, 'district')), []);
      assert.ok(strict.log.some((l) => l.message === 'data connection refused' && l.reason === 'data connection did not resume the control TLS session'),
        'the server refused the data connection for not resuming the session');

      // The same client against a server that does not require it.
      const lenient = await startServer();
      try {
        const ok = await python(lenient, 'store', upload.local, upload.name);
        assertRan(ok, 'python without required reuse');
        assert.match((JSON.parse(ok.stdout) as { stored: string }).stored, /^226 /);
        assert.deepEqual(lenient.received.map((r) => [r.upload.name, r.upload.size, r.upload.sha256, r.onDisk]),
          [[upload.name, upload.size, upload.sha256, upload.sha256]]);
      } finally {
        await lenient.fx.stop();
      }
    });
  });
});
