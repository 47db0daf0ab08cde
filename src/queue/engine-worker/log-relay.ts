/**
 * A worker thread's logger: winston with the daemon's level, each line sent to the daemon's thread,
 * which writes it through its own logger (one format, one stream, lines never interleaved).
 */
import { Writable } from 'node:stream';
import type { MessagePort } from 'node:worker_threads';
import winston from 'winston';
import type { Logger } from '../../util/logger';
import type { FromWorker } from './protocol';

export function relayLogger(port: MessagePort, level: string): Logger {
  const stream = new Writable({
    objectMode: true,
    write(info: Record<string, unknown>, _enc, done) {
      const { level: lineLevel, message, ...meta } = info; // winston's symbol keys are not copied
      const line: FromWorker = { type: 'log', level: String(lineLevel), message: String(message), meta };
      try {
        port.postMessage(line);
      } catch {
        // something in the metadata cannot be cloned (a function, a socket): send what JSON keeps
        port.postMessage({ ...line, meta: JSON.parse(JSON.stringify(meta)) as Record<string, unknown> });
      }
      done();
    },
  });
  return winston.createLogger({ level, transports: [new winston.transports.Stream({ stream })] });
}

/** Writes a relayed line as if it had been logged here. */
export function writeRelayed(logger: Logger, line: Extract<FromWorker, { type: 'log' }>): void {
  logger.log({ ...line.meta, level: line.level, message: line.message });
}
