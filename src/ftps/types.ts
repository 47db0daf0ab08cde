/**
 * The FTPS drop server's small interface: a config, an authenticator and an upload sink in;
 * start/stop out (see server.ts). Nothing here knows about ftp-srv.
 */

export interface PassiveConfig {
  /** inclusive port range for passive data listeners */
  minPort: number;
  maxPort: number;
  /** address told to clients in PASV replies (NAT); null: the address the client connected to */
  advertisedAddress: string | null;
  /** passive ports one user may hold at once (open listeners and transfers), over all connections */
  maxPerUser: number;
  /** passive ports the users of one domain may hold at once */
  maxPerDomain: number;
}

export interface LoginLimits {
  /** failed logins allowed on one connection; the connection is closed after this many */
  maxFailuresPerConnection: number;
  /** every failed login is answered after this delay, whatever the reason */
  failureDelayMs: number;
  /** failures from one IP within `banWindowMs` that ban it */
  banAfterFailures: number;
  banWindowMs: number;
  banDurationMs: number;
  /** IPs never banned (exact addresses; IPv4-mapped IPv6 is normalized) */
  allowList: string[];
}

export interface ConnectionLimits {
  maxConnections: number;
  maxConnectionsPerIp: number;
}

export interface Timeouts {
  /** from connect to a successful login */
  loginMs: number;
  /** no command and no data traffic */
  idleMs: number;
  /** a data connection that moves no bytes */
  transferStallMs: number;
  /** between a transfer command and the client's data connection */
  dataConnectMs: number;
  /** a passive port that no data connection and no transfer command used: closed, and counted no more */
  passiveUnusedMs: number;
}

export interface TlsMaterial {
  cert: string;
  key: string;
}

export interface DropServerConfig {
  /** address to listen on */
  host: string;
  /** explicit FTPS (AUTH TLS); 0 picks a free port */
  explicitPort: number;
  /** implicit FTPS; null disables it */
  implicitPort: number | null;
  /** each domain's folder is `<dropRoot>/<userspace>` */
  dropRoot: string;
  tls: TlsMaterial;
  minTlsVersion: 'TLSv1.2' | 'TLSv1.3';
  /** refuse data connections that do not resume the control connection's TLS session */
  requireTlsSessionReuse: boolean;
  passive: PassiveConfig;
  /** PORT/EPRT (only to the control peer's address, ports >= 1024) */
  allowActiveMode: boolean;
  maxUploadBytes: number;
  maxCommandLineBytes: number;
  login: LoginLimits;
  connections: ConnectionLimits;
  timeouts: Timeouts;
}

/** What a successful login grants: the user's own domain and the domains below it. */
export interface Grant {
  /** `userspace/username` as typed */
  login: string;
  userId: number;
  /** the user's domain: the folder at `/` */
  home: string;
  /** descendant domains, reachable under `/domains/<userspace>/` */
  subdomains: string[];
}

export interface Authenticator {
  /** null for every kind of refusal (unknown user, wrong password, not an administrator) */
  authenticate(login: string, password: string): Promise<Grant | null>;
}

export interface CompletedUpload {
  /** the domain whose folder received it */
  userspace: string;
  login: string;
  remoteAddress: string;
  /** absolute path of the file under its final name */
  path: string;
  /** the file name as uploaded */
  name: string;
  size: number;
  sha256: string;
  /** placed in the folder's `validate/` subfolder: validate and report, apply nothing */
  validateOnly: boolean;
  /** placed in the folder's `force/` subfolder: apply past the safety threshold, never skip as identical */
  forced: boolean;
  receivedAt: Date;
}

export interface UploadSink {
  /** called after the file is fsynced under its final name, before the client gets `226` */
  accept(upload: CompletedUpload): Promise<void> | void;
}
