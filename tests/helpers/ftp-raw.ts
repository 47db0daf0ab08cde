/**
 * A raw FTP(S) client for attack tests: it sends exactly the bytes it is told to, reads reply
 * lines, upgrades with AUTH TLS by wrapping its own socket (`tls.connect({ socket })`), and opens
 * passive data connections it fully controls (source address, TLS session, truncation without
 * close_notify). Real-client behaviour is tested with real clients elsewhere; this is the tool for
 * what well-behaved clients never do. Loopback addresses only.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';

export interface FtpReply {
  code: number;
  /** every line of the reply, without CRLF */
  lines: string[];
  /** the lines joined with `\n` */
  text: string;
}

export interface ConnectOptions {
  host?: string;
  /** source address, e.g. 127.0.0.2 to be another client */
  localAddress?: string;
  /** client TLS settings, e.g. TLS 1.2 without tickets to resume by session ID only */
  tls?: Pick<tls.ConnectionOptions, 'maxVersion' | 'secureOptions'>;
}

/** How AUTH TLS starts the handshake. */
export type TlsStart =
  /** wait for the whole 234 line, then hand the socket to TLS (what curl does) */
  | 'after-reply'
  /** send the ClientHello the moment the first byte of the reply arrives */
  | 'on-first-byte'
  /** send the ClientHello right behind AUTH TLS, without waiting for anything */
  | 'immediately';

/**
 * How long a client waits for a reply, a handshake or a close before the test fails: a guard
 * against a hang, never an expectation of speed (a loaded 2-core machine can take seconds for a
 * TLS handshake and a password check).
 */
export const DEFAULT_TIMEOUT = 60_000;

export class RawFtp {
  readonly raw: net.Socket;
  /** every reply line received, in order (plaintext and TLS) */
  readonly transcript: string[] = [];
  /** the control connection's latest TLS session, for resumption on data connections */
  session: Buffer | undefined;
  tlsSocket: tls.TLSSocket | null = null;
  closed = false;
  /** set when the connection closed; never rejects */
  readonly closedPromise: Promise<void>;
  private sock: net.Socket | tls.TLSSocket;
  private pending = '';
  private partial: string[] | null = null;
  private readonly replies: FtpReply[] = [];
  private waiters: Array<() => void> = [];
  private markClosed!: () => void;
  private readonly onPlain = (chunk: Buffer): void => this.feed(chunk);

  private constructor(raw: net.Socket, private readonly tlsOptions: ConnectOptions['tls'] = {}) {
    this.raw = raw;
    this.sock = raw;
    this.closedPromise = new Promise((resolve) => { this.markClosed = resolve; });
    raw.on('data', this.onPlain);
    raw.on('error', () => undefined);
    raw.on('close', () => this.setClosed());
  }

  static connect(port: number, opts: ConnectOptions = {}): Promise<RawFtp> {
    return new Promise((resolve, reject) => {
      const raw = net.connect({ host: opts.host ?? '127.0.0.1', port, localAddress: opts.localAddress });
      raw.setNoDelay(true);
      const client = new RawFtp(raw, opts.tls);
      raw.once('connect', () => { raw.off('error', reject); resolve(client); });
      raw.once('error', reject);
    });
  }

  get secure(): boolean {
    return this.tlsSocket !== null;
  }

  /** Writes bytes as they are (on TLS once upgraded). */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.sock.write(data, (err) => (err ? reject(err) : resolve()));
    });
  }

  send(line: string): Promise<void> {
    return this.write(`${line}\r\n`);
  }

  /** The next complete reply; rejects when none comes within the time or the connection closes. */
  async reply(timeoutMs = DEFAULT_TIMEOUT): Promise<FtpReply> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length === 0) {
      if (this.closed) throw new Error(`connection closed while waiting for a reply (transcript: ${this.transcript.join(' | ')})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms (transcript: ${this.transcript.join(' | ')})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        const waiter = (): void => done();
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.push(waiter);
      });
    }
    return this.replies.shift() as FtpReply;
  }

  /** A reply if one arrives within the time, else null (also null once closed). */
  async maybeReply(timeoutMs: number): Promise<FtpReply | null> {
    try {
      return await this.reply(timeoutMs);
    } catch {
      return this.replies.shift() ?? null;
    }
  }

  async cmd(line: string, timeoutMs = DEFAULT_TIMEOUT): Promise<FtpReply> {
    await this.send(line);
    return this.reply(timeoutMs);
  }

  /** AUTH TLS (or the exact `bytes` given) and the handshake; returns the 234 reply. */
  async authTls(start: TlsStart = 'after-reply', timeoutMs = DEFAULT_TIMEOUT, bytes = 'AUTH TLS\r\n'): Promise<FtpReply> {
    if (start === 'after-reply') {
      await this.write(bytes);
      const r = await this.reply(timeoutMs);
      if (r.code !== 234) throw new Error(`AUTH TLS answered ${r.text}`);
      this.raw.off('data', this.onPlain);
      await this.handshake(tls.connect({ ...this.tlsOptions, socket: this.raw, rejectUnauthorized: false }), timeoutMs);
      return r;
    }
    // The client runs TLS over a transport that strips the 234 line out of the byte stream, so the
    // ClientHello can leave before the reply is read, as an impatient client's would.
    const raw = this.raw;
    raw.off('data', this.onPlain);
    let head = Buffer.alloc(0);
    let lineDone = false;
    let firstByte = false;
    const held: Array<{ chunk: Buffer; cb: (err?: Error | null) => void }> = [];
    const transport = new Duplex({
      read: () => undefined,
      write: (chunk: Buffer, _enc, cb) => {
        if (start === 'on-first-byte' && !firstByte) held.push({ chunk, cb });
        else raw.write(chunk, cb);
      },
      final: (cb) => { raw.end(); cb(); },
      destroy: (err, cb) => { raw.destroy(); cb(err); },
    });
    raw.on('data', (chunk: Buffer) => {
      if (!firstByte) {
        firstByte = true;
        for (const h of held.splice(0)) raw.write(h.chunk, h.cb);
      }
      if (!lineDone) {
        head = Buffer.concat([head, chunk]);
        const nl = head.indexOf(0x0a);
        if (nl === -1) return;
        lineDone = true;
        this.feed(head.subarray(0, nl + 1));
        chunk = head.subarray(nl + 1);
        if (chunk.length === 0) return;
      }
      transport.push(chunk);
    });
    raw.on('end', () => transport.push(null));
    raw.write(bytes);
    const secured = this.handshake(tls.connect({ ...this.tlsOptions, socket: transport, rejectUnauthorized: false }), timeoutMs);
    const r = await this.reply(timeoutMs);
    if (r.code !== 234) throw new Error(`AUTH TLS answered ${r.text}`);
    await secured;
    return r;
  }

  private handshake(socket: tls.TLSSocket, timeoutMs: number): Promise<void> {
    this.tlsSocket = socket;
    this.sock = socket;
    socket.on('data', (chunk: Buffer) => this.feed(chunk));
    socket.on('session', (session: Buffer) => { this.session = session; });
    socket.on('error', () => undefined);
    socket.on('close', () => this.setClosed());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('TLS handshake timed out')), timeoutMs);
      socket.once('secureConnect', () => { clearTimeout(timer); resolve(); });
      socket.once('error', (err) => { clearTimeout(timer); reject(err); });
      socket.once('close', () => { clearTimeout(timer); reject(new Error('closed during the TLS handshake')); });
    });
  }

  /** Waits until the server closes the connection; false if it is still open after the time. */
  async waitClosed(timeoutMs = DEFAULT_TIMEOUT): Promise<boolean> {
    if (this.closed) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); });
    const result = await Promise.race([this.closedPromise.then(() => true as const), timedOut]);
    clearTimeout(timer);
    return result;
  }

  /** Closes without a goodbye. */
  destroy(): void {
    this.tlsSocket?.destroy();
    this.raw.destroy();
  }

  private setClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.markClosed();
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private feed(chunk: Buffer): void {
    this.pending += chunk.toString('latin1');
    for (let nl = this.pending.indexOf('\n'); nl !== -1; nl = this.pending.indexOf('\n')) {
      const line = this.pending.slice(0, nl).replace(/\r$/, '');
      this.pending = this.pending.slice(nl + 1);
      this.transcript.push(line);
      this.line(line);
    }
    this.wake();
  }

  private line(line: string): void {
    if (this.partial) {
      this.partial.push(line);
      const code = this.partial[0].slice(0, 3);
      if (line.startsWith(`${code} `) || line === code) this.push(this.partial);
      return;
    }
    if (/^\d{3}-/.test(line)) {
      this.partial = [line];
      return;
    }
    this.push([line]);
  }

  private push(lines: string[]): void {
    this.partial = null;
    const code = /^\d{3}/.test(lines[0]) ? Number(lines[0].slice(0, 3)) : 0;
    this.replies.push({ code, lines, text: lines.join('\n') });
  }
}

/** Asserts a reply code with the reply text in the message. */
export function expectCode(reply: FtpReply, code: number | RegExp): FtpReply {
  const ok = typeof code === 'number' ? reply.code === code : code.test(String(reply.code));
  if (!ok) throw new Error(`expected ${String(code)}, got: ${reply.text}`);
  return reply;
}

/** Connect, greeting, AUTH TLS; no login. */
export async function secureConnect(port: number, opts: ConnectOptions = {}): Promise<RawFtp> {
  const c = await RawFtp.connect(port, opts);
  expectCode(await c.reply(), 220);
  await c.authTls();
  return c;
}

/** Connect, AUTH TLS, USER/PASS (230 expected), and PBSZ 0 + PROT P unless told otherwise. */
export async function loggedIn(port: number, login: string, password: string, opts: ConnectOptions & { protect?: boolean } = {}): Promise<RawFtp> {
  const c = await secureConnect(port, opts);
  expectCode(await c.cmd(`USER ${login}`), 331);
  expectCode(await c.cmd(`PASS ${password}`), 230);
  if (opts.protect !== false) {
    expectCode(await c.cmd('PBSZ 0'), 200);
    expectCode(await c.cmd('PROT P'), 200);
  }
  return c;
}

/** The port of a `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)` or `229 (|||port|)` reply. */
export function passivePort(reply: FtpReply): number {
  const pasv = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(reply.text);
  if (reply.code === 227 && pasv) return Number(pasv[5]) * 256 + Number(pasv[6]);
  const epsv = /\(\|\|\|(\d+)\|\)/.exec(reply.text);
  if (reply.code === 229 && epsv) return Number(epsv[1]);
  throw new Error(`not a passive reply: ${reply.text}`);
}

export async function pasv(c: RawFtp): Promise<number> {
  return passivePort(await c.cmd('PASV'));
}

export interface DataOptions extends ConnectOptions {
  /** the control connection's TLS session, to resume */
  session?: Buffer;
  timeoutMs?: number;
}

/** A TLS data connection whose TCP socket the test controls. */
export class DataConn {
  readonly chunks: Buffer[] = [];
  readonly done: Promise<void>;
  private constructor(readonly raw: net.Socket, readonly socket: tls.TLSSocket) {
    socket.on('data', (c: Buffer) => this.chunks.push(c));
    socket.on('error', () => undefined);
    raw.on('error', () => undefined);
    this.done = new Promise((resolve) => {
      socket.once('close', () => resolve());
      raw.once('close', () => resolve());
    });
  }

  /** Resolves once the TLS handshake is done; rejects if the server drops the connection first. */
  static open(port: number, opts: DataOptions = {}): Promise<DataConn> {
    return new Promise((resolve, reject) => {
      const raw = net.connect({ host: opts.host ?? '127.0.0.1', port, localAddress: opts.localAddress });
      raw.setNoDelay(true);
      raw.on('error', () => undefined);
      const socket = tls.connect({ ...opts.tls, socket: over(raw).transport, rejectUnauthorized: false, session: opts.session });
      const conn = new DataConn(raw, socket);
      const timer = setTimeout(() => { conn.destroy(); reject(new Error('data TLS handshake timed out')); }, opts.timeoutMs ?? DEFAULT_TIMEOUT);
      socket.once('secureConnect', () => { clearTimeout(timer); resolve(conn); });
      socket.once('error', (err) => { clearTimeout(timer); reject(err); });
      socket.once('close', () => { clearTimeout(timer); reject(new Error('data connection closed before the TLS handshake finished')); });
    });
  }

  get resumed(): boolean {
    return this.socket.isSessionReused();
  }

  write(data: Buffer | string): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  /** close_notify and FIN: a complete upload. */
  async end(): Promise<void> {
    this.socket.end();
    await this.done;
  }

  /** Everything the server sent, once it closed the connection. */
  async readAll(): Promise<Buffer> {
    await this.done;
    return Buffer.concat(this.chunks);
  }

  /**
   * Closes TCP under TLS (a FIN once what was written is flushed, then the socket; no close_notify):
   * what a dropped link or a killed client does.
   */
  truncate(): Promise<void> {
    return new Promise((resolve) => {
      this.raw.end(() => {
        this.raw.destroy();
        resolve();
      });
    });
  }

  destroy(): void {
    this.socket.destroy();
    this.raw.destroy();
  }
}

export interface AttemptResult {
  /** the TLS handshake completed (from the client's side) */
  secured: boolean;
  /** the handshake resumed a session */
  resumed: boolean;
  /** bytes the server sent on the TCP connection (a ServerHello is > 0) */
  bytesReceived: number;
  /** the TCP connection ended within the time (when there is no payload, the server ended it) */
  closed: boolean;
}

/** A data connection attempt (optionally sending `payload` once secured) that reports what happened instead of failing. */
export function attemptData(port: number, opts: DataOptions & { payload?: Buffer } = {}): Promise<AttemptResult> {
  return new Promise((resolve) => {
    const result: AttemptResult = { secured: false, resumed: false, bytesReceived: 0, closed: false };
    const raw = net.connect({ host: opts.host ?? '127.0.0.1', port, localAddress: opts.localAddress });
    raw.on('error', () => undefined);
    raw.on('data', (c: Buffer) => { result.bytesReceived += c.length; });
    const socket = tls.connect({ ...opts.tls, socket: over(raw).transport, rejectUnauthorized: false, session: opts.session });
    socket.on('error', () => undefined);
    socket.once('secureConnect', () => {
      result.secured = true;
      result.resumed = socket.isSessionReused();
      if (opts.payload) socket.end(opts.payload);
    });
    const timer = setTimeout(() => { raw.destroy(); resolve(result); }, opts.timeoutMs ?? 2000);
    raw.once('close', () => {
      clearTimeout(timer);
      result.closed = true;
      resolve(result);
    });
  });
}

/**
 * TLS over a JS duplex rather than the TCP handle, so the test still sees (and can cut) the TCP
 * socket: its bytes can be counted and it can be closed under TLS without close_notify.
 */
function over(raw: net.Socket): { transport: Duplex } {
  const transport = new Duplex({
    read: () => { raw.resume(); },
    write: (chunk: Buffer, _enc, cb) => { raw.write(chunk, cb); },
    final: (cb) => { raw.end(); cb(); },
    destroy: (err, cb) => { raw.destroy(); cb(err); },
  });
  raw.on('data', (chunk: Buffer) => { if (!transport.push(chunk)) raw.pause(); });
  raw.on('end', () => transport.push(null));
  raw.on('close', () => transport.destroy());
  return { transport };
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
