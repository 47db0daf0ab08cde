/**
 * One FTPS control connection: ftp-srv's connection class (reply formatting, close) with its input
 * side replaced. Commands are framed into whole lines and run one at a time (command-line.ts), pass
 * the policy gate (policy.ts) and then a handler (commands/). AUTH TLS switches to TLS
 * synchronously and drops anything pipelined behind it (defects 1 and 2); the connection keeps its
 * own TLS state (connection-tls.ts) so its data connections can resume its TLS session.
 *
 * A client may pipeline, but what it costs is bounded (issue 17 #1): the next line is taken only
 * when the previous command's reply has been handed to the socket (ftp-srv's reply waits for the
 * write), and the socket is paused while more than INPUT_HIGH_WATER bytes wait unread, so a client
 * that never reads its replies stops being read, and the TCP window holds the rest of its flood.
 */
import tls from 'node:tls';
import type { Socket } from 'node:net';
import type { Logger } from '../util/logger';
import type { Admission } from './admission';
import { LineBuffer, LineTooLongError, parseCommand } from './command-line';
import { DataChannel, type PassivePorts } from './data-channel';
import type { DropFileSystem } from './drop-fs';
import { FtpSrvConnectionBase, type FtpCommand, type FtpSrvLog, type FtpSrvServer } from './ftp-srv-internals';
import { isTlsMethod } from './commands/session';
import type { ConnectionTls } from './connection-tls';
import type { PassiveQuota } from './passive-quota';
import { gateCommand } from './policy';
import type { Authenticator, DropServerConfig, Grant, UploadSink } from './types';

export interface ConnectionDeps {
  config: DropServerConfig;
  /** the current certificate (reloaded on SIGHUP) in a fresh TLS state for a new control connection */
  connectionTls(): ConnectionTls;
  authenticator: Authenticator;
  sink: UploadSink;
  admission: Admission;
  ports: PassivePorts;
  passiveQuota: PassiveQuota;
  logger: Logger;
  handlers: ReadonlyMap<string, CommandHandler>;
}

export type CommandHandler = (conn: DropConnection, command: FtpCommand) => Promise<unknown> | unknown;

/** Unread input above which the socket is paused (at least one whole line of the maximum length). */
const INPUT_HIGH_WATER = 16 * 1024;
/** How long a closing reply may take to leave: a client that reads nothing must not hold the close. */
const CLOSE_REPLY_MS = 2000;

/** ftp-srv's own logging is replaced: it logged PASS in clear text at trace level (defect 14). */
const quietLog: FtpSrvLog = {
  child: () => quietLog, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined,
};

export class DropConnection extends FtpSrvConnectionBase {
  readonly peerIp: string;
  readonly logger: Logger;
  readonly deps: ConnectionDeps;
  isSecure = false;
  pbsz = false;
  protectedData = false;
  grant: Grant | null = null;
  /** USER given, PASS awaited */
  pendingUser: string | null = null;
  failedLogins = 0;
  /** inside PASS: a ban that starts meanwhile is answered by PASS itself (530, then 421) */
  checkingPassword = false;
  /** a transfer is moving data: the idle timer must not cut it */
  transferring = false;
  /** a command is being handled (a slow login, say): the client is waiting on us, not idle */
  private busy = false;
  /** a command (gate, handler, reply) is in progress: the next line waits */
  private running = false;
  tlsState: ConnectionTls | null = null;
  channel: DataChannel | null = null;
  private readonly lines: LineBuffer;
  private readonly inputHighWater: number;
  private closed = false;
  private idleTimer: NodeJS.Timeout | null = null;
  private loginTimer: NodeJS.Timeout | null = null;
  private awaitingTls = false;
  /** a TLS handshake that arrived with AUTH TLS (the client did not wait for 234): for TLS to read */
  private earlyTls: Buffer | null = null;

  constructor(
    server: FtpSrvServer, socket: Socket, peerIp: string, deps: ConnectionDeps,
    implicit: { socket: tls.TLSSocket; tls: ConnectionTls } | null, private readonly onEnded: () => void,
  ) {
    super(server, { log: quietLog, socket: implicit?.socket ?? socket });
    this.peerIp = peerIp;
    this.deps = deps;
    this.logger = deps.logger.child({ session: this.id.slice(0, 8), ip: peerIp });
    this.lines = new LineBuffer(deps.config.maxCommandLineBytes);
    this.inputHighWater = Math.max(INPUT_HIGH_WATER, deps.config.maxCommandLineBytes + 2);
    if (implicit) {
      this.tlsState = implicit.tls;
      this.isSecure = true;
      this.watchSocket(implicit.socket, false); // ftp-srv's constructor already reads it
    }
    socket.on('close', () => this.closed || this.cleanup());
    this.loginTimer = setTimeout(() => {
      if (!this.grant) void this.shut(421, 'Login timeout');
    }, deps.config.timeouts.loginMs);
    this.touch();
  }

  /** The logged-in user's folders. */
  get fileSystem(): DropFileSystem {
    if (!this.fs) throw new Error('not logged in');
    return this.fs as DropFileSystem;
  }

  /** ftp-srv binds this to the socket's 'data' event in its constructor. */
  override _handleData(data: Buffer): void {
    if (this.awaitingTls || this.closed) return; // plaintext after AUTH TLS is dropped
    this.touch();
    this.lines.push(data);
    this.pump();
  }

  /** Starts the next buffered command unless one is running, and pauses or resumes the input. */
  private pump(): void {
    while (!this.running && !this.closed && !this.awaitingTls) {
      let raw: Buffer | null;
      try {
        raw = this.lines.next();
      } catch (err) {
        if (err instanceof LineTooLongError) void this.shut(500, 'Command line too long');
        return;
      }
      if (raw === null) break;
      const command = parseCommand(raw.toString('utf8'));
      if (command.directive === 'AUTH' && !this.isSecure && isTlsMethod(command.arg)) {
        // Nothing that came after AUTH may run: it was sent in clear (STARTTLS injection). Only a TLS
        // handshake record (0x16) is kept, for TLS itself: a client that did not wait for the 234.
        // (An AUTH that starts no TLS is refused by its handler and the connection reads on.)
        const rest = this.lines.takeRest();
        this.earlyTls = rest[0] === 0x16 ? rest : null;
        this.awaitingTls = true;
        this.commandSocket.pause();
      }
      this.start(command);
    }
    if (this.closed || this.awaitingTls) return;
    if (this.lines.buffered > this.inputHighWater) this.commandSocket.pause();
    else this.commandSocket.resume();
  }

  private start(command: FtpCommand): void {
    this.running = true;
    this.run(command).catch((err: unknown) => {
      this.logger.error('command handler failed', { directive: command.directive, error: describe(err) });
      return this.reply(500, 'Internal error').catch(() => undefined);
    }).finally(() => {
      this.running = false;
      this.pump();
    });
  }

  private async run(command: FtpCommand): Promise<void> {
    if (this.closed) return;
    this.touch();
    const decision = gateCommand(command.directive, { secure: this.isSecure, authenticated: this.grant !== null, protectedData: this.protectedData });
    if (!decision.allow) {
      await this.reply(decision.code, decision.message);
      return;
    }
    const handler = this.deps.handlers.get(command.directive);
    if (!handler) {
      await this.reply(502, 'Command not implemented');
      return;
    }
    this.busy = true;
    try {
      await handler(this, command);
    } finally {
      this.busy = false;
      this.touch();
    }
  }

  /**
   * AUTH TLS: reply 234 and wrap the socket in the same turn, so a ClientHello that follows at once
   * is read by TLS, never as a command (defect 1).
   */
  startTls(): void {
    const raw = this.commandSocket;
    raw.write('234 AUTH TLS successful\r\n');
    // TLS reads the raw socket from now on, including what arrived during the pause (Node feeds that
    // to TLS with read(), which also emits 'data'): the FTP parser must not see those bytes too.
    raw.removeAllListeners('data');
    if (this.earlyTls) raw.unshift(this.earlyTls);
    this.earlyTls = null;
    const state = this.deps.connectionTls();
    const secure = state.accept(raw);
    this.tlsState = state;
    this.commandSocket = secure;
    this.isSecure = true;
    this.awaitingTls = false;
    this.watchSocket(secure, true);
    secure.on('secure', () => this.logger.debug('control TLS established', { protocol: secure.getProtocol() }));
  }

  private watchSocket(secure: tls.TLSSocket, read: boolean): void {
    if (read) secure.on('data', (chunk: Buffer) => this._handleData(chunk));
    secure.on('error', (err) => this.logger.debug('control TLS error', { error: describe(err) }));
    secure.on('close', () => this.closed || this.cleanup());
  }

  /** A successful login: the admission log and timers follow. */
  loggedIn(grant: Grant, fs: DropFileSystem): void {
    this.grant = grant;
    this.authenticated = true;
    this.fs = fs;
    this.failedLogins = 0;
    if (this.loginTimer) clearTimeout(this.loginTimer);
    this.loginTimer = null;
  }

  /**
   * A fresh data channel; the previous one (and its listener) is closed first (defect 6). `onEnded`
   * gives back what the channel holds (its passive port slot) when it is over.
   */
  newChannel(onEnded?: () => void): DataChannel {
    this.closeChannel();
    const { config } = this.deps;
    this.channel = new DataChannel({
      peerIp: this.peerIp,
      tls: this.tlsState as ConnectionTls,
      requireSessionReuse: config.requireTlsSessionReuse,
      connectTimeoutMs: config.timeouts.dataConnectMs,
      unusedMs: config.timeouts.passiveUnusedMs,
      onRefused: (reason, ip) => this.logger.warn('data connection refused', { reason, from: ip }),
      onUnused: (port) => this.logger.info('passive port closed unused', { login: this.grant?.login, port, unusedMs: config.timeouts.passiveUnusedMs }),
      onEnded,
    });
    return this.channel;
  }

  closeChannel(): void {
    this.channel?.close();
    this.channel = null;
  }

  /** Any sign of life, on the control or a data connection, restarts the idle timer. */
  touch(): void {
    if (this.closed) return;
    if (this.idleTimer) this.idleTimer.refresh();
    else {
      this.idleTimer = setTimeout(() => {
        // A transfer is governed by the stall timer on its data socket, a login by the login timer;
        // a command whose reply has not left is waiting on the client, which is idle.
        if (this.transferring || (this.busy && this.commandSocket.writableLength === 0)) this.touch();
        else void this.shut(421, 'Idle timeout');
      }, this.deps.config.timeouts.idleMs);
    }
  }

  /** Replies (when the socket still takes it, briefly) and closes the connection. */
  async shut(code: number, message: string): Promise<void> {
    if (this.closed) return;
    await settledWithin(this.reply(code, message), CLOSE_REPLY_MS);
    this.cleanup();
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.loginTimer) clearTimeout(this.loginTimer);
    this.closeChannel();
    this.commandSocket.destroy();
    this.onEnded(); // not an event: ftp-srv removes all listeners when the socket closes
  }
}

/** Resolves when `work` settles or after `ms`, whichever is first. */
function settledWithin(work: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    work.catch(() => undefined).finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
