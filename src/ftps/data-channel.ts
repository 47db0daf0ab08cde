/**
 * FTPS data connections (passive, and active when enabled).
 *
 * Stock ftp-srv started a fresh TLS server per PASV, so data connections could never resume the
 * control session; it checked the peer's address only after the TLS handshake, let a foreign
 * connection disconnect the victim, waited for the handshake before sending 150 (Python and lftp
 * deadlocked), and leaked the previous listener on every PASV (defects 4–6). Here:
 * - the peer address is checked on TCP accept, before any TLS; strangers are dropped silently;
 * - each data socket is TLS with the control connection's own SecureContext, so the client can
 *   resume its session (and only its session); resumption can be required;
 * - the channel is ready at TCP accept (the caller sends 150 at once), unless resumption is
 *   required, when it is ready after a resumed handshake;
 * - a channel has one listener, closed when a new PASV/EPSV replaces it or the transfer ends;
 * - whether the client ended the upload with TLS close_notify is observable (`endedCleanly`), so a
 *   truncated upload is never mistaken for a complete one (defect 16).
 */
import { Duplex } from 'node:stream';
import net from 'node:net';
import tls from 'node:tls';
import { normalizeIp } from './admission';

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

  constructor(raw: net.Socket, context: tls.SecureContext) {
    // TLS over a JS duplex rather than the TCP handle: the TCP FIN reaches TLS only through here,
    // one turn after it arrives, so a close_notify that came before it has been processed by then.
    const transport = new Duplex({
      read: () => { raw.resume(); },
      write: (chunk: Buffer, _enc, cb) => { raw.write(chunk, cb); },
      final: (cb) => { raw.end(); cb(); },
      destroy: (err, cb) => { raw.destroy(); cb(err); },
    });
    raw.on('data', (chunk: Buffer) => { if (!transport.push(chunk)) raw.pause(); });
    raw.on('end', () => setImmediate(() => { this.eofDelivered = true; transport.push(null); }));
    raw.on('error', (err) => transport.destroy(err));
    raw.on('close', () => transport.destroy());
    this.socket = new tls.TLSSocket(transport, { isServer: true, secureContext: context });
    this.socket.on('end', () => { this.closeNotify = !this.eofDelivered; });
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
      const server = net.createServer({ pauseOnConnect: true }, onConnection);
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
  context: tls.SecureContext;
  requireSessionReuse: boolean;
  connectTimeoutMs: number;
  /** a refused data connection (wrong address, no resumption), for the log */
  onRefused(reason: string, ip: string): void;
}

/** One pending data connection of a control connection. */
export class DataChannel {
  private server: net.Server | null = null;
  private ready: DataSocket | null = null;
  private failure: DataChannelError | null = null;
  private waiters: Array<() => void> = [];
  private candidates = new Set<DataSocket>();

  constructor(private readonly opts: ChannelOptions) {}

  /** Passive mode: listen for the client; returns the port to announce. */
  async listen(ports: PassivePorts, host: string): Promise<number> {
    this.server = await ports.listen(host, (socket) => this.accept(socket));
    this.server.on('error', () => undefined);
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Active mode: connect to the client's own address, ports >= 1024 only. */
  connect(ip: string, port: number, localAddress: string): void {
    if (normalizeIp(ip) !== this.opts.peerIp) throw new DataChannelError(501, 'Active mode connects only to your own address');
    if (!Number.isInteger(port) || port < 1024 || port > 65535) throw new DataChannelError(501, 'Active mode needs a port from 1024 to 65535');
    const socket = net.connect({ host: ip, port, localAddress });
    socket.once('connect', () => this.adopt(socket));
    socket.once('error', () => this.fail(new DataChannelError(425, 'Cannot open the data connection')));
  }

  /** Resolves with the data socket, or rejects with a reply code and text. */
  async socket(): Promise<DataSocket> {
    const timer = setTimeout(() => this.fail(new DataChannelError(425, 'No data connection established')), this.opts.connectTimeoutMs);
    try {
      while (!this.ready && !this.failure) await new Promise<void>((resolve) => this.waiters.push(resolve));
    } finally {
      clearTimeout(timer);
    }
    if (this.ready) return this.ready;
    throw this.failure as DataChannelError;
  }

  close(): void {
    this.server?.close();
    this.server = null;
    for (const c of this.candidates) c.destroy();
    this.candidates.clear();
    this.ready?.destroy();
    this.fail(new DataChannelError(426, 'Data connection closed'));
  }

  private accept(socket: net.Socket): void {
    const ip = normalizeIp(socket.remoteAddress);
    if (ip !== this.opts.peerIp) {
      // Before TLS and without touching the victim's transfer.
      socket.destroy();
      this.opts.onRefused('address differs from the control connection', ip);
      return;
    }
    if (this.ready) {
      socket.destroy();
      return;
    }
    this.adopt(socket);
  }

  private adopt(socket: net.Socket): void {
    socket.setNoDelay(true);
    const data = new DataSocket(socket, this.opts.context);
    if (!this.opts.requireSessionReuse) {
      this.choose(data);
      return;
    }
    this.candidates.add(data);
    data.socket.once('secure', () => {
      this.candidates.delete(data);
      if (!data.socket.isSessionReused()) {
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
