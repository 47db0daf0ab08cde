/** A winston logger that keeps what it logs, so tests can assert on the lines a component wrote. */
import { Writable } from 'node:stream';
import winston from 'winston';
import type { Logger } from '../../src/util/logger';

export interface LogEntry { level: string; message: string; [key: string]: unknown }

export interface MemoryLogger {
  logger: Logger;
  entries: LogEntry[];
  raw: string[];
  /** the first entry (logged so far or later) that matches; rejects after `timeoutMs`, a hang guard */
  waitFor(match: (e: LogEntry) => boolean, timeoutMs?: number): Promise<LogEntry>;
}

export function memoryLogger(): MemoryLogger {
  const raw: string[] = [];
  const waiters = new Set<() => void>();
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      raw.push(chunk.toString('utf8'));
      for (const w of waiters) w();
      cb();
    },
  });
  const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
  const entries = (): LogEntry[] => raw.flatMap((l) => l.trim().split('\n')).filter(Boolean).map((l) => JSON.parse(l) as LogEntry);
  return {
    logger, raw,
    get entries() { return entries(); },
    waitFor: (match, timeoutMs = 60_000) => new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = entries().find(match);
        if (!hit) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(hit);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no such log entry within ${timeoutMs} ms; logged:\n${raw.join('')}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    }),
  };
}
