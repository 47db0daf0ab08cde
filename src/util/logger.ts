/**
 * Structured logs (winston): JSON lines in production, readable lines on a terminal. Every line a
 * sync writes carries its run id and domain (a child logger). Secrets are never logged: loggers
 * get ids, counts and file names, never passwords or row contents.
 */
import winston from 'winston';

export type Logger = winston.Logger;

export interface LoggerOptions {
  level?: string;
  /** JSON lines; default: when stdout is not a terminal or NODE_ENV=production */
  json?: boolean;
  /** write to stderr (the CLI keeps stdout for results) */
  stderr?: boolean;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const json = opts.json ?? (process.env.NODE_ENV === 'production' || !process.stdout.isTTY);
  const format = json
    ? winston.format.combine(winston.format.timestamp(), winston.format.json())
    : winston.format.combine(
      winston.format.timestamp({ format: 'HH:mm:ss' }),
      winston.format.printf(({ timestamp, level, message, ...meta }) => {
        const ctx = Object.entries(meta).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' ');
        return `${String(timestamp)} ${level} ${forTerminal(String(message))}${ctx ? ` ${forTerminal(ctx)}` : ''}`;
      }),
    );
  return winston.createLogger({
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    format,
    transports: [new winston.transports.Console({ stderrLevels: opts.stderr ? Object.keys(winston.config.npm.levels) : [] })],
  });
}

/**
 * Control characters (and line separators and direction marks) shown escaped, as `\x1b` or
 * `\u202e`: a log line quotes what clients send (a pre-login USER, a file name), which must not
 * drive the operator's terminal (colours, a cleared screen, a title, reversed text). JSON lines
 * are escaped by JSON itself.
 */
export function forTerminal(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** For library use without configuration: logs nothing. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
