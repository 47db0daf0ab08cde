/** Data connection set-up and transfers: PASV, EPSV, PORT, EPRT, LIST, NLST, RETR, STOR, ABOR. */
import { isIPv4 } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { normalizeIp } from '../admission';
import { stripListOptions } from '../command-line';
import { describe, type CommandHandler, type DropConnection } from '../connection';
import { DataChannelError, type DataSocket } from '../data-channel';
import { FtpFsError } from '../drop-fs';
import { formatListLine } from '../ftp-srv-internals';
import type { Grant } from '../types';
import { receiveUpload, UploadError } from '../upload-receiver';

/** The reply for a failure with a code of ours; anything else is a generic 451 (no paths leak). */
function failureReply(err: unknown): [number, string] {
  if (err instanceof FtpFsError || err instanceof DataChannelError || err instanceof UploadError) return [err.code, err.message];
  return [451, 'Requested action aborted: local error'];
}

/** A passive listener within the user's and the domain's share of the range (issue 17 #2). */
async function openPassive(conn: DropConnection): Promise<number> {
  const { config, ports, passiveQuota } = conn.deps;
  const grant = conn.grant as Grant; // data commands come only after login (policy.ts)
  conn.closeChannel(); // the connection's own previous port is given back before counting
  const release = passiveQuota.acquire(grant.userId, grant.home);
  if (typeof release !== 'function') {
    conn.logger.warn('passive port refused', { login: grant.login, domain: grant.home, limit: release.limit, max: release.max });
    throw new DataChannelError(425, `Too many passive connections for this ${release.limit === 'user' ? 'account' : 'domain'}; close one first`);
  }
  try {
    return await conn.newChannel(release).listen(ports, config.host);
  } catch (err) {
    conn.closeChannel();
    throw err;
  }
}

export const pasv: CommandHandler = async (conn) => {
  const advertised = conn.deps.config.passive.advertisedAddress ?? normalizeIp(conn.commandSocket.localAddress);
  if (!isIPv4(advertised)) return conn.reply(425, 'PASV needs IPv4; use EPSV');
  try {
    const port = await openPassive(conn);
    return conn.reply(227, `Entering Passive Mode (${advertised.replace(/\./g, ',')},${port >> 8},${port & 255})`);
  } catch (err) {
    return conn.reply(...failureReply(err));
  }
};

export const epsv: CommandHandler = async (conn, command) => {
  if (command.arg?.trim().toUpperCase() === 'ALL') return conn.reply(200, 'EPSV ALL accepted');
  try {
    const port = await openPassive(conn);
    return conn.reply(229, `Entering Extended Passive Mode (|||${port}|)`);
  } catch (err) {
    return conn.reply(...failureReply(err));
  }
};

/** PORT h1,h2,h3,h4,p1,p2 and EPRT |1|ip|port| — only when active mode is enabled. */
export const active: CommandHandler = (conn, command) => {
  if (!conn.deps.config.allowActiveMode) return conn.reply(502, 'Active mode is disabled; use PASV or EPSV');
  const target = command.directive === 'PORT' ? parsePort(command.arg ?? '') : parseEprt(command.arg ?? '');
  if (!target) return conn.reply(501, 'Syntax error in the address');
  try {
    conn.newChannel().connect(target.ip, target.port, normalizeIp(conn.commandSocket.localAddress));
    return conn.reply(200, `${command.directive} command successful`);
  } catch (err) {
    conn.closeChannel();
    return conn.reply(...failureReply(err));
  }
};

export function parsePort(arg: string): { ip: string; port: number } | null {
  const parts = arg.trim().split(',');
  if (parts.length !== 6 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return { ip: parts.slice(0, 4).map(Number).join('.'), port: Number(parts[4]) * 256 + Number(parts[5]) };
}

export function parseEprt(arg: string): { ip: string; port: number } | null {
  const d = arg.trim()[0];
  if (!d) return null;
  const [, proto, ip, port] = arg.trim().split(d);
  if (!['1', '2'].includes(proto) || !ip || !/^\d{1,5}$/.test(port ?? '')) return null;
  return { ip, port: Number(port) };
}

/**
 * The data socket for a transfer command, after the 150 reply (sent when the data connection opens,
 * before its TLS handshake is waited for: lftp and Python start that handshake only after the 150);
 * replies 425 itself when there is none.
 */
async function dataSocket(conn: DropConnection, preliminary: string): Promise<DataSocket | null> {
  const channel = conn.channel;
  if (!channel) {
    await conn.reply(425, 'Use PASV or EPSV first');
    return null;
  }
  try {
    await channel.connected();
    await conn.reply(150, preliminary);
    return await channel.socket();
  } catch (err) {
    conn.closeChannel();
    await conn.reply(...failureReply(err));
    return null;
  }
}

/** Sends text on the data connection and ends it with close_notify. */
function sendText(data: DataSocket, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    data.socket.once('error', reject);
    data.socket.end(text, () => resolve());
  });
}

const list = (names: boolean): CommandHandler => async (conn, command) => {
  let text: string;
  try {
    const entries = await conn.fileSystem.list(stripListOptions(command.arg));
    text = entries.map((e) => `${names ? e.name : formatListLine(e, 'ls')}\r\n`).join('');
  } catch (err) {
    conn.closeChannel();
    return conn.reply(...failureReply(err));
  }
  const data = await dataSocket(conn, 'Here comes the directory listing');
  if (!data) return;
  try {
    await sendText(data, text);
    await conn.reply(226, 'Directory send OK');
  } catch (err) {
    await conn.reply(426, 'Connection closed; transfer aborted');
    conn.logger.debug('listing failed', { error: describe(err) });
  } finally {
    conn.closeChannel();
  }
};

export const listLong = list(false);
export const listNames = list(true);

export const retr: CommandHandler = async (conn, command) => {
  let file: Awaited<ReturnType<DropConnection['fileSystem']['openRead']>>;
  try {
    file = await conn.fileSystem.openRead(command.arg);
  } catch (err) {
    conn.closeChannel();
    return conn.reply(...failureReply(err));
  }
  const data = await dataSocket(conn, 'Opening data connection');
  if (!data) {
    file.destroy();
    return;
  }
  conn.transferring = true;
  try {
    data.socket.setTimeout(conn.deps.config.timeouts.transferStallMs, () => data.socket.destroy(new Error('stalled')));
    file.on('data', () => conn.touch());
    await pipeline(file, data.socket);
    await conn.reply(226, 'Transfer complete');
  } catch (err) {
    file.destroy();
    await conn.reply(426, 'Connection closed; transfer aborted');
    conn.logger.debug('download failed', { error: describe(err) });
  } finally {
    conn.transferring = false;
    conn.closeChannel();
  }
};

export const stor: CommandHandler = async (conn, command) => {
  const { config, sink, logger } = conn.deps;
  const fs = conn.fileSystem;
  let target: Awaited<ReturnType<typeof fs.uploadTarget>>;
  try {
    target = await fs.uploadTarget(command.arg);
  } catch (err) {
    conn.closeChannel();
    return conn.reply(...failureReply(err));
  }
  const data = await dataSocket(conn, 'Ok to send data');
  if (!data) return;
  const started = Date.now();
  const login = conn.grant?.login ?? '';
  const entry = { login, from: conn.peerIp, domain: target.userspace, file: target.name, validateOnly: target.validateOnly };
  conn.transferring = true;
  try {
    const received = await receiveUpload(data, {
      dir: target.dir, finalPath: target.finalPath, maxBytes: config.maxUploadBytes,
      stallMs: config.timeouts.transferStallMs,
      onProgress: () => conn.touch(),
    });
    await sink.accept({
      userspace: target.userspace, login, remoteAddress: conn.peerIp, path: target.finalPath, name: target.name,
      size: received.size, sha256: received.sha256, validateOnly: target.validateOnly, forced: target.forced, receivedAt: new Date(),
    });
    logger.info('upload', { ...entry, size: received.size, sha256: received.sha256, durationMs: Date.now() - started, result: 'ok' });
    await conn.reply(226, 'Transfer complete');
  } catch (err) {
    const [code, message] = failureReply(err);
    const cause = err instanceof UploadError && err.detail ? { cause: err.detail } : {};
    logger.warn('upload', { ...entry, durationMs: Date.now() - started, result: 'failed', reason: describe(err), ...cause });
    await conn.reply(code, message);
  } finally {
    conn.transferring = false;
    conn.closeChannel();
  }
};

export const abor: CommandHandler = (conn) => {
  conn.closeChannel();
  return conn.reply(226, 'No transfer in progress');
};
