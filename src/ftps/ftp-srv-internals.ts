/**
 * Typed access to the parts of ftp-srv 4.6.3 that rosterdrop reuses: its connection class (reply
 * formatting, close) and the handlers of simple commands. The package's bundled typings describe
 * the public API only and are wrong in places (defect 17 in docs/ftp-srv-defects.md), so these
 * interfaces are written from the 4.6.3 source. ftp-srv is pinned exactly in package.json.
 */
import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Stats } from 'node:fs';

/** The bunyan-shaped logger ftp-srv calls. */
export interface FtpSrvLog {
  child(fields: Record<string, unknown>): FtpSrvLog;
  trace(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export interface ReplyLetter {
  message?: string | number;
  raw?: boolean;
  socket?: Socket;
}

export interface ReplyOptions {
  code?: number;
  socket?: Socket;
  useEmptyMessage?: boolean;
  eol?: boolean;
}

export interface FtpCommand {
  directive: string;
  /** null when the command had no argument */
  arg: string | null;
  flags: string[];
  raw: string;
}

/** The ftp-srv server object a connection reads its options from. */
export interface FtpSrvServer extends EventEmitter {
  options: Record<string, unknown>;
  connections: Record<string, unknown>;
}

/** ftp-srv's FtpConnection (src/connection.js). */
export interface FtpSrvConnection extends EventEmitter {
  id: string;
  server: FtpSrvServer;
  commandSocket: Socket;
  log: FtpSrvLog;
  authenticated?: boolean;
  username?: string;
  encoding: BufferEncoding;
  transferType: string;
  /** set by PBSZ */
  bufferSize: number | false;
  /** the file system the reused handlers call (chdir, currentDirectory, get, delete) */
  fs?: unknown;
  /** the data connector the reused ABOR handler calls */
  connector: { waitForConnection(): Promise<Socket>; end(): void };
  reply(options: number | ReplyOptions, ...letters: Array<string | ReplyLetter>): Promise<void>;
  close(code?: number, message?: string): Promise<void>;
  /** the constructor binds this to the socket's 'data' event */
  _handleData(data: Buffer): unknown;
}

export type FtpSrvConnectionClass = new (server: FtpSrvServer, options: { log: FtpSrvLog; socket: Socket }) => FtpSrvConnection;
export type FtpSrvServerClass = new (options: Record<string, unknown>) => FtpSrvServer;

export interface CommandContext {
  log: FtpSrvLog;
  command: FtpCommand;
  previous_command: Partial<FtpCommand>;
}

export interface CommandRegistration {
  directive: string | string[];
  handler(this: FtpSrvConnection, ctx: CommandContext): unknown;
}

/** The stat shape ftp-srv's `ls` formatter reads. */
export type ListedStat = Stats & { name: string };

/* eslint-disable @typescript-eslint/no-require-imports */
export const FtpSrv = require('ftp-srv/src/index') as FtpSrvServerClass;
export const FtpSrvConnectionBase = require('ftp-srv/src/connection') as FtpSrvConnectionClass;
export const ftpSrvRegistry = require('ftp-srv/src/commands/registry') as Record<string, CommandRegistration>;
export const formatListLine = require('ftp-srv/src/helpers/file-stat') as (stat: ListedStat, format: 'ls' | 'ep') => string;
