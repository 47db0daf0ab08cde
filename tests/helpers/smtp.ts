/**
 * A real SMTP server on loopback (the smtp-server package) that keeps every message it accepts.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface Received { from: string; to: string[]; user: string | null; raw: string }
export interface TestSmtp { port: number; received: Received[]; sessions: number; close(): Promise<void> }

export async function startSmtp(opts: Partial<SMTPServerOptions> = {}): Promise<TestSmtp> {
  const state = { received: [] as Received[], sessions: 0 };
  const server = new SMTPServer({
    secure: false, disabledCommands: ['STARTTLS'], authOptional: true, logger: false, banner: 'rosterdrop test',
    onConnect(_session, cb) { state.sessions++; cb(); },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const envelope = session.envelope;
        state.received.push({
          from: envelope.mailFrom ? envelope.mailFrom.address : '', to: envelope.rcptTo.map((a) => a.address),
          user: typeof session.user === 'string' ? session.user : null, raw: Buffer.concat(chunks).toString('utf8'),
        });
        cb();
      });
    },
    ...opts,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    get received() { return state.received; },
    get sessions() { return state.sessions; },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

