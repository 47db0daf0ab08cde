/**
 * Shortens text an issue quotes from an upload (a sourcedId, a value, a header name, a message)
 * to what its column holds: an upload is untrusted, and one 64 KiB value repeated in 6,000 rows
 * must not become 400 MB of issues, a result file or a mail. Pure.
 */
import { detach } from './csv/line-splitter';

/**
 * `text` when it has at most `max` UTF-16 code units; else its start, an ellipsis and its
 * original length in characters (code points), e.g. `abc… (65536 characters)`, in at most `max`
 * code units. Code units bound code points, so the result fits a VARCHAR(max) on either database.
 * Never splits a surrogate pair (PostgreSQL would get U+FFFD, or refuse the row). The result is a
 * copy: a slice would pin the whole long original in memory for as long as the issue lives.
 */
export function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const marker = `… (${codePoints(text)} characters)`;
  // a limit too small for the marker gets the start alone
  return detach(marker.length > max ? start(text, max) : `${start(text, max - marker.length)}${marker}`);
}

/** the longest a value quoted inside a message is shown, in characters */
export const QUOTED_VALUE_CHARS = 80;

/** A value quoted in a message: `"…"`, shortened so that the message stays readable. */
export function quote(value: string): string {
  return `"${shorten(value, QUOTED_VALUE_CHARS)}"`;
}

/** the first `n` code units, one fewer when the last would be half a surrogate pair */
function start(text: string, n: number): string {
  return text.slice(0, n > 0 && isHighSurrogate(text.charCodeAt(n - 1)) ? n - 1 : n);
}

function codePoints(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    if (isHighSurrogate(text.charCodeAt(i)) && isLowSurrogate(text.charCodeAt(i + 1))) { n--; i++; }
  }
  return n;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
