/**
 * FTPS data connections (passive, and active when enabled).
 *
 * Stock ftp-srv started a fresh TLS server per PASV, so data connections could never resume the
 * control session; it checked the peer's address only after the TLS handshake, let a foreign
 * connection disconnect the victim, waited for the handshake before sending 150 (Python and lftp
 * deadlocked), and leaked the previous listener on every PASV (defects 4–6). Here:
 * - the peer address is checked on TCP accept, before any TLS; strangers are dropped silently;
 * - each data socket is TLS with the control connection's own TLS state (connection-tls.ts), so the
 *   client can resume its session (and only its session), by ticket or by session ID; resumption
 *   can be required;
 * - the channel is connected at TCP accept (the caller sends 150 at once: lftp and Python begin the
 *   data handshake only after it) and ready once the TLS handshake is done (and resumed, when
 *   resumption is required): nothing is written or ended before it;
 * - a channel has one listener, closed when a new PASV/EPSV replaces it or the transfer ends, or
 *   when neither a data connection nor a transfer command has used it for `unusedMs` (issue 17 #2);
 * - whether the client ended the upload with TLS close_notify is observable (`endedCleanly`), so a
 *   truncated upload is never mistaken for a complete one (defect 16).
 */
import { Duplex } from 'node:stream';
import net from 'node:net';
import tls from 'node:tls';
import { normalizeIp } from './admission';
import type { ConnectionTls } from './connection-tls';

export class DataChannelError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = 'DataChannelError';
  }
}

/** A TLS data socket that knows whether its peer closed with close_notify. */
export class DataSocket {
  readonly socket: tls.TLSSocket;
  private eofDelivered = false;
  private closeNotify = false;
  private tlsEnded = false;

  constructor(raw: net.Socket, connectionTls: ConnectionTls) {
    // TLS over a JS duplex rather than the TCP handle: the TCP FIN reaches TLS only through here, so
    // whether TLS saw a close_notify before it can be told.
    const transport = new Duplex({
      read: () => { raw.resume(); },
      write: (chunk: Buffer, _enc, cb) => { raw.write(chunk, cb); },
      final: (cb) => { raw.end(); cb(); },
      destroy: (err, cb) => { raw.destroy(); cb(err); },
    });
    raw.on('data', (chunk: Buffer) => { if (!transport.push(chunk)) raw.pause(); });
    raw.on('end', () => transport.push(null));
    // EOF is marked when TLS is about to read it (the first 'end' listener, before TLS's own), not when
    // the FIN arrives: under backpressure a close_notify can still sit unread in the transport then,
    // and a complete upload was taken for a truncated one.
    transport.prependListener('end', () => { this.eofDelivered = true; });
    raw.on('error', (err) => transport.destroy(err));
    raw.on('close', () => transport.destroy());
    this.socket = connectionTls.accept(transport);
    // Decided when TLS ends its readable side, not at 'end': that waits until a consumer has read
    // everything, and the upload's consumer may attach after the client has already finished.
    const push = this.socket.push.bind(this.socket);
    this.socket.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
      if (chunk === null && !this.tlsEnded) {
        this.tlsEnded = true;
        this.closeNotify = !this.eofDelivered;
      }
      return push(chunk, encoding);
    };
  }

  /** True once the peer ended with close_notify; false for a bare TCP FIN (possible truncation). */
  get endedCleanly(): boolean {
    return this.closeNotify;
  }

  /**
   * Ends our side with close_notify and waits (briefly) until it is written: Python's ftplib waits
   * for the server's close_notify before it reads the 226.
   */
  async finish(): Promise<void> {
    const s = this.socket;
    if (s.destroyed || s.writableFinished) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, 2000);
      function done(): void {
        clearTimeout(timer);
        s.off('finish', done).off('close', done);
        resolve();
      }
      s.once('finish', done).once('close', done);
      if (!s.writableEnded) s.end();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Allocates listeners from the passive port range, round-robin, skipping ports in use. */
export class PassivePorts {
  private next: number;

  constructor(private readonly min: number, private readonly max: number) {
    this.next = min;
  }

  async listen(host: string, onConnection: (socket: net.Socket) => void): Promise<net.Server> {
    const size = this.max - this.min + 1;
    for (let i = 0; i < size; i++) {
      const port = this.next;
      this.next = port >= this.max ? this.min : port + 1;
      // allowHalfOpen: the client's FIN must not close (and so destroy) the socket before the upload's
      // consumer has read what TLS buffered; a fast client's data, close_notify and FIN otherwise hung.
      const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, onConnection);
      const ok = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen({ port, host, exclusive: true }, () => resolve(true));
      });
      if (ok) return server;
    }
    throw new DataChannelError(425, 'No passive port available; try again later');
  }
}

export interface ChannelOptions {
  /** the control connection's peer: data from anywhere else is refused */
  peerIp: string;
  /** the control connection's TLS state: its session is the one a data connection may resume */
  tls: ConnectionTls;
  requireSessionReuse: boolean;
  connectTimeoutMs: number;
  /** a refused data connection (wrong address, no resumption), for the log */
  onRefused(reason: string, ip: string): void;
  /** a passive listener that no data connection and no transfer command used within this is closed */
  unusedMs: number;
  /** the listener on `port` was closed unused, for the log */
  onUnused(port: number): void;
  /** the channel is over (closed, or its listener closed unused); called once */
  onEnded?(): void;
}

/** Data connections from the peer whose TLS handshake is still running, at most. */
const MAX_PENDING_HANDSHAKES = 4;

/** One pending data connection of a control connection. */
export class DataChannel {
  private server: net.Server | null = null;
  private ready: DataSocket | null = null;
  private failure: DataChannelError | null = null;
  private waiters: Array<() => void> = [];
  private candidates = new Set<DataSocket>();
  /** a data connection from the peer was opened (its TLS may still be pending) */
  private accepted = false;
  private unusedTimer: NodeJS.Timeout | null = null;
  private ended = false;

  constructor(private readonly opts: ChannelOptions) {}

  /** Passive mode: listen for the client; returns the port to announce. */
  async listen(ports: PassivePorts, host: string): Promise<number> {
    const server = await ports.listen(host, (socket) => this.accept(socket));
    if (this.ended) {
      server.close(); // closed while the port was being bound (the connection went away)
      throw new DataChannelError(426, 'Data connection closed');
    }
    this.server = server;
    this.server.on('error', () => undefined);
    const port = (this.server.address() as net.AddressInfo).port;
    this.unusedTimer = setTimeout(() => this.expire(port), this.opts.unusedMs);
    return port;
  }

  /** Active mode: connect to the client's own address, ports >= 1024 only. */
  connect(ip: string, port: number, localAddress: string): void {
    if (normalizeIp(ip) !== this.opts.peerIp) throw new DataChannelError(501, 'Active mode connects only to your own address');
    if (!Number.isInteger(port) || port < 1024 || port > 65535) throw new DataChannelError(501, 'Active mode needs a port from 1024 to 65535');
    const socket = net.connect({ host: ip, port, localAddress, allowHalfOpen: true });
    socket.once('connect', () => this.adopt(socket));
    socket.once('error', () => this.fail(new DataChannelError(425, 'Cannot open the data connection')));
  }

  /** Resolves once the peer's data connection is open (time for 150), or rejects like socket(). */
  async connected(): Promise<void> {
    await this.until(() => this.accepted);
  }

  /** Resolves with the data socket, or rejects with a reply code and text. */
  async socket(): Promise<DataSocket> {
    await this.until(() => this.ready !== null);
    return this.ready as DataSocket;
  }

  private async until(done: () => boolean): Promise<void> {
    this.used(); // a transfer command waits for it: the connect timeout governs from here
    const timer = setTimeout(() => this.fail(new DataChannelError(425, 'No data connection established')), this.opts.connectTimeoutMs);
    try {
      while (!done() && !this.failure) await new Promise<void>((resolve) => this.waiters.push(resolve));
    } finally {
      clearTimeout(timer);
    }
    if (!done()) throw this.failure as DataChannelError;
  }

  close(): void {
    this.used();
    this.server?.close();
    this.server = null;
    for (const c of this.candidates) c.destroy();
    this.candidates.clear();
    this.ready?.destroy();
    this.fail(new DataChannelError(426, 'Data connection closed'));
    if (!this.ended) {
      this.ended = true;
      this.opts.onEnded?.();
    }
  }

  private used(): void {
    if (this.unusedTimer) clearTimeout(this.unusedTimer);
    this.unusedTimer = null;
  }

  /** Nobody used the passive port: it is closed, so that it counts no more against anyone. */
  private expire(port: number): void {
    this.fail(new DataChannelError(425, 'The passive port was closed unused; send PASV again'));
    this.close();
    this.opts.onUnused(port);
  }

  private accept(socket: net.Socket): void {
    const ip = normalizeIp(socket.remoteAddress);
    if (ip !== this.opts.peerIp) {
      // Before TLS and without touching the victim's transfer.
      socket.destroy();
      this.opts.onRefused('address differs from the control connection', ip);
      return;
    }
    if (this.ready || this.candidates.size >= MAX_PENDING_HANDSHAKES) {
      socket.destroy(); // one address must not make us run handshakes without end
      return;
    }
    this.adopt(socket);
  }

  private adopt(socket: net.Socket): void {
    this.used();
    socket.setNoDelay(true);
    const data = new DataSocket(socket, this.opts.tls);
    this.accepted = true;
    this.candidates.add(data);
    this.wake();
    // Handed out only after its handshake: ending a socket whose client handshakes after the 150 (an
    // empty listing to Python or lftp) made TLS write during the pending shutdown, and Node aborted
    // the whole process (ERR_INTERNAL_ASSERTION in js_stream_socket).
    data.socket.once('secure', () => {
      this.candidates.delete(data);
      if (this.opts.requireSessionReuse && !data.socket.isSessionReused()) {
        data.destroy();
        this.opts.onRefused('data connection did not resume the control TLS session', this.opts.peerIp);
        return;
      }
      if (this.ready) data.destroy();
      else this.choose(data);
    });
    data.socket.once('error', () => { this.candidates.delete(data); data.destroy(); });
  }

  private choose(data: DataSocket): void {
    this.ready = data;
    this.server?.close();
    this.server = null;
    this.wake();
  }

  private fail(err: DataChannelError): void {
    if (!this.failure && !this.ready) this.failure = err;
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
