/**
 * The FTPS drop server: `DropServer.start(config, authenticator, sink)` and `stop()`.
 *
 * ftp-srv supplies the connection class and simple command handlers; the listeners, TLS, framing,
 * policy, data connections, file system and limits are ours (see ftps-notes.md for why). The
 * ftp-srv server object exists only because its connections read their options from it; it never
 * listens, and the signal handlers it installs are removed at once: the daemon owns shutdown
 * (defect 15).
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../util/logger';
import { Admission, normalizeIp, type Refusal } from './admission';
import { commandHandlers } from './commands';
import { DropConnection, type ConnectionDeps } from './connection';
import { ConnectionTls } from './connection-tls';
import { PassivePorts } from './data-channel';
import { PassiveQuota } from './passive-quota';
import { FtpSrv, type FtpSrvServer } from './ftp-srv-internals';
import type { Authenticator, DropServerConfig, TlsMaterial, UploadSink } from './types';

const REFUSALS: Record<Refusal, string> = {
  'banned': '421 Too many failed logins from your address; try again later',
  'too-many-connections': '421 Too many connections; try again later',
  'too-many-from-ip': '421 Too many connections from your address',
};

/** Creates ftp-srv's server object without letting it keep the process's signal handlers. */
function ftpSrvServer(): FtpSrvServer {
  const signals = ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const server = new FtpSrv({ url: 'ftp://127.0.0.1:0', greeting: null, anonymous: false });
  for (const s of signals) {
    for (const listener of process.listeners(s)) if (!before.get(s)?.has(listener)) process.removeListener(s, listener);
  }
  return server;
}

export interface ListeningPorts {
  explicit: number;
  implicit: number | null;
}

export class DropServer {
  private readonly ftpSrv = ftpSrvServer();
  private readonly listeners: net.Server[] = [];
  private readonly connections = new Set<DropConnection>();
  private material: TlsMaterial;
  private readonly deps: ConnectionDeps;
  private stopping = false;

  private constructor(private readonly config: DropServerConfig, authenticator: Authenticator, sink: UploadSink, private readonly logger: Logger) {
    this.material = config.tls;
    this.makeContext(config.tls); // fails here, at start, on a bad certificate or key
    this.deps = {
      config, authenticator, sink, logger,
      admission: new Admission(config.connections, config.login),
      ports: new PassivePorts(config.passive.minPort, config.passive.maxPort),
      passiveQuota: new PassiveQuota(config.passive.maxPerUser, config.passive.maxPerDomain),
      // One TLS state per control connection: its data connections resume that session, and no other.
      connectionTls: () => new ConnectionTls(this.makeContext(this.material)),
      handlers: commandHandlers(),
    };
  }

  static async start(config: DropServerConfig, authenticator: Authenticator, sink: UploadSink, logger: Logger): Promise<DropServer> {
    const server = new DropServer(config, authenticator, sink, logger.child({ component: 'ftps' }));
    server.deps.admission.onBan((ip) => server.endUnauthenticated(ip));
    await server.listen(config.explicitPort, false);
    if (config.implicitPort !== null) await server.listen(config.implicitPort, true);
    return server;
  }

  /** Failed-login bans per IP: the web sign-in counts its failures here too, so switching protocol buys no extra guesses. */
  get admission(): Admission {
    return this.deps.admission;
  }

  /** every listener open (for /readyz) */
  get listening(): boolean {
    return !this.stopping && this.listeners.length > 0 && this.listeners.every((l) => l.listening);
  }

  get ports(): ListeningPorts {
    const port = (s: net.Server | undefined) => (s ? (s.address() as net.AddressInfo).port : null);
    return { explicit: port(this.listeners[0]) as number, implicit: port(this.listeners[1]) };
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** New certificate and key for connections from now on (SIGHUP); open sessions keep theirs. */
  reloadTls(material: TlsMaterial): void {
    this.makeContext(material); // throws on a bad pair before anything is replaced
    this.material = material;
  }

  /** Stops listening, tells every client `421` and closes; running transfers are cut. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.listeners.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    await Promise.all([...this.connections].map((c) => c.shut(421, 'Server shutting down')));
  }

  private makeContext(material: TlsMaterial): tls.SecureContext {
    return tls.createSecureContext({ cert: material.cert, key: material.key, minVersion: this.config.minTlsVersion });
  }

  private listen(port: number, implicit: boolean): Promise<void> {
    const server = net.createServer({ pauseOnConnect: true }, (socket) => this.onConnection(socket, implicit));
    server.on('error', (err) => this.logger.error('listener error', { error: err.message }));
    this.listeners.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.config.host, () => {
        server.off('error', reject);
        this.logger.info('FTPS listening', { mode: implicit ? 'implicit' : 'explicit', host: this.config.host, port: (server.address() as net.AddressInfo).port });
        resolve();
      });
    });
  }

  /**
   * A ban ends every connection of the IP that has not logged in, so that connections opened before
   * it cannot go on guessing. The one whose failure started it gets its 530 first (login.ts).
   */
  private endUnauthenticated(ip: string): void {
    const ending = [...this.connections].filter((c) => c.peerIp === ip && !c.grant && !c.checkingPassword);
    if (ending.length) this.logger.warn('ban: closing the address\'s connections that have not logged in', { ip, connections: ending.length });
    for (const c of ending) void c.shut(421, 'Too many failed logins');
  }

  private onConnection(socket: net.Socket, implicit: boolean): void {
    const ip = normalizeIp(socket.remoteAddress);
    socket.on('error', () => undefined); // reported through the connection; never crash on a reset
    const refusal = this.stopping ? 'too-many-connections' : this.deps.admission.admit(ip);
    if (refusal) {
      this.logger.warn('connection refused', { from: ip, reason: this.stopping ? 'stopping' : refusal });
      if (implicit) socket.destroy(); // no TLS yet: a plaintext reply would be noise to the client
      else {
        // Read (and drop) what the client sends, so its FIN closes the socket: paused since accept, a
        // refused socket otherwise stayed open for good (a leaked descriptor, and stop() never ended).
        socket.resume();
        socket.setTimeout(10_000, () => socket.destroy());
        socket.end(`${REFUSALS[refusal]}\r\n`);
      }
      return;
    }
    socket.setNoDelay(true);
    let secure: { socket: tls.TLSSocket; tls: ConnectionTls } | null = null;
    if (implicit) {
      const state = this.deps.connectionTls();
      secure = { socket: state.accept(socket), tls: state };
    }
    let released = false;
    const conn: DropConnection = new DropConnection(this.ftpSrv, socket, ip, this.deps, secure, () => {
      if (released) return;
      released = true;
      this.deps.admission.release(ip);
      this.connections.delete(conn);
    });
    this.connections.add(conn);
    void conn.reply(220, 'rosterdrop FTPS ready').then(() => socket.resume());
  }
}
