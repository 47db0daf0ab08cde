/**
 * The TLS state of one control connection, shared by its data connections so that they can resume
 * its session, and no other connection's:
 * - its own SecureContext, whose ticket keys only this connection's handshakes use (tickets: TLS 1.3
 *   clients, and TLS 1.2 clients that use tickets);
 * - its own session-ID cache, for TLS 1.2 clients that resume by session ID only (curl turns
 *   tickets off). Node keeps no server session cache of its own: without this, such clients could
 *   never resume, and required resumption refused them.
 */
import tls from 'node:tls';
import type { Duplex } from 'node:stream';

/** Sessions kept per control connection: its own, plus one per data handshake that did not resume. */
const MAX_SESSIONS = 16;

export class ConnectionTls {
  private readonly sessions = new Map<string, Buffer>();
  /**
   * Never listens: a TLSSocket emits its session events on the `server` it is given, and takes the
   * session-ID callbacks only when that server has listeners for them.
   */
  private readonly events = new tls.Server();

  constructor(readonly context: tls.SecureContext) {
    this.events.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
      this.sessions.set(id.toString('hex'), data);
      // the oldest first: Map keeps insertion order
      for (const key of this.sessions.keys()) {
        if (this.sessions.size <= MAX_SESSIONS) break;
        this.sessions.delete(key);
      }
      done();
    });
    this.events.on('resumeSession', (id: Buffer, done: (err: Error | null, data: Buffer | null) => void) => {
      done(null, this.sessions.get(id.toString('hex')) ?? null);
    });
  }

  /** The server side of a TLS connection over `transport` (a control or a data connection). */
  accept(transport: Duplex): tls.TLSSocket {
    return new tls.TLSSocket(transport, { isServer: true, secureContext: this.context, server: this.events });
  }
}
