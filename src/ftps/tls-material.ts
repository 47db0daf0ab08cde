/**
 * The server certificate: from configured files, or a self-signed one generated on first start and
 * kept in the data directory (so clients that pinned its fingerprint keep trusting it).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import type { TlsMaterial } from './types';

export interface TlsFiles {
  certFile: string | null;
  keyFile: string | null;
  /** where a generated certificate is kept when no files are configured */
  dataDir: string;
}

export interface LoadedTls extends TlsMaterial {
  /** SHA-256 fingerprint, as FileZilla shows it */
  fingerprint256: string;
  generated: boolean;
  certFile: string;
}

export async function loadTlsMaterial(files: TlsFiles): Promise<LoadedTls> {
  if (files.certFile || files.keyFile) {
    if (!files.certFile || !files.keyFile) throw new Error('set both the TLS certificate and key files, or neither');
    return read(files.certFile, files.keyFile, false);
  }
  const dir = path.join(files.dataDir, 'tls');
  const certFile = path.join(dir, 'server-cert.pem');
  const keyFile = path.join(dir, 'server-key.pem');
  try {
    return await read(certFile, keyFile, false);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { generate } = await import('selfsigned');
  const name = hostname();
  const notAfter = new Date();
  notAfter.setFullYear(notAfter.getFullYear() + 5);
  const pems = await generate([{ name: 'commonName', value: name }], {
    keySize: 2048, algorithm: 'sha256', notAfterDate: notAfter,
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: name }, { type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
  });
  // The key first, private to the daemon's user; flag 'wx' so two first starts cannot interleave:
  // the one that loses the race uses the winner's pair once it is complete.
  try {
    await writeFile(keyFile, pems.private, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readWhenComplete(certFile, keyFile);
  }
  await writeFile(certFile, pems.cert, { mode: 0o644, flag: 'wx' });
  return read(certFile, keyFile, true);
}

async function readWhenComplete(certFile: string, keyFile: string): Promise<LoadedTls> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await read(certFile, keyFile, false);
    } catch (err) {
      if (attempt >= 50) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function read(certFile: string, keyFile: string, generated: boolean): Promise<LoadedTls> {
  const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  const x509 = new X509Certificate(cert);
  if (!x509.checkPrivateKey(createPrivateKey(key))) {
    throw new Error(`the TLS key ${keyFile} does not belong to the certificate ${certFile}`);
  }
  return { cert, key, fingerprint256: x509.fingerprint256, generated, certFile };
}
