/**
 * The FTPS part of the daemon: the certificate (configured, or generated on first start), its
 * fingerprint in the log for FileZilla users to compare, the drop server with LMS logins, and
 * certificate reloads (SIGHUP) that keep the old certificate when the new files are bad.
 */
import type { DataSource } from 'typeorm';
import type { FtpsSettings } from '../config/ftps';
import { LmsAuthenticator } from '../ftps/lms-authenticator';
import { DropServer } from '../ftps/server';
import { loadTlsMaterial, type LoadedTls } from '../ftps/tls-material';
import type { UploadSink } from '../ftps/types';
import type { Logger } from '../util/logger';

export interface FtpsService {
  server: DropServer;
  /** the certificate and key now served (the web admin serves the same) */
  tls(): LoadedTls;
  /** re-reads the certificate and key; on failure logs and keeps serving the old ones */
  reloadTls(): Promise<boolean>;
  stop(): Promise<void>;
}

export async function startFtpsService(ds: DataSource, settings: FtpsSettings, sink: UploadSink, logger: Logger): Promise<FtpsService> {
  const files = { certFile: settings.certFile, keyFile: settings.keyFile, dataDir: settings.dataDir };
  let tls = await loadTlsMaterial(files);
  logCertificate(logger, tls);
  const server = await DropServer.start({ ...settings, tls }, new LmsAuthenticator(ds), sink, logger);
  return {
    server,
    tls: () => tls,
    async reloadTls() {
      try {
        const fresh = await loadTlsMaterial(files);
        server.reloadTls(fresh);
        tls = fresh;
        logCertificate(logger, fresh);
        return true;
      } catch (err) {
        logger.error('TLS certificate reload failed; still serving the previous certificate', { error: (err as Error).message });
        return false;
      }
    },
    stop: () => server.stop(),
  };
}

function logCertificate(logger: Logger, tls: LoadedTls): void {
  logger.info(tls.generated ? 'generated a self-signed TLS certificate' : 'TLS certificate loaded', {
    certificate: tls.certFile, sha256Fingerprint: tls.fingerprint256,
  });
}
