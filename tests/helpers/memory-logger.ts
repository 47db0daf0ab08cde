/** A winston logger that keeps what it logs, so tests can assert on the lines a component wrote. */
import { Writable } from 'node:stream';
import winston from 'winston';
import type { Logger } from '../../src/util/logger';

export interface LogEntry { level: string; message: string; [key: string]: unknown }

export function memoryLogger(): { logger: Logger; entries: LogEntry[]; raw: string[] } {
  const raw: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, cb) { raw.push(chunk.toString('utf8')); cb(); } });
  const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
  return {
    logger, raw,
    get entries() { return raw.flatMap((l) => l.trim().split('\n')).filter(Boolean).map((l) => JSON.parse(l) as LogEntry); },
  };
}
