/**
 * A small MIME reader for tests (mailparser is not installed): headers unfolded and RFC 2047
 * decoded, multipart bodies split recursively, base64 and quoted-printable decoded. Strict where it
 * matters to the tests: a message without the CRLF header/body break, or a multipart without its
 * closing delimiter, throws.
 */

export interface MimePart {
  headers: Map<string, string[]>;
  /** the first value of a header (lower-case name), RFC 2047 words decoded */
  header(name: string): string | undefined;
  contentType: string;
  /** a Content-Type or Content-Disposition parameter */
  param(header: 'content-type' | 'content-disposition', name: string): string | undefined;
  /** decoded body (UTF-8) of a leaf part */
  body: string;
  parts: MimePart[];
}

export function parseMime(raw: string): MimePart {
  const split = raw.indexOf('\r\n\r\n');
  if (split < 0) throw new Error('no CRLF CRLF between headers and body');
  const headerText = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const bodyText = raw.slice(split + 4);
  const headers = new Map<string, string[]>();
  for (const line of headerText.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`not a header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), decodeWords(line.slice(colon + 1).trim())]);
  }
  const header = (name: string) => headers.get(name)?.[0];
  const param = (h: 'content-type' | 'content-disposition', name: string) => {
    const value = header(h);
    if (!value) return undefined;
    const m = new RegExp(`;\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(value);
    return m ? (m[1] ?? m[2]) : undefined;
  };
  const contentType = (header('content-type') ?? 'text/plain').split(';')[0].trim().toLowerCase();
  const part: MimePart = { headers, header, contentType, param, body: '', parts: [] };
  if (contentType.startsWith('multipart/')) {
    const boundary = param('content-type', 'boundary');
    if (!boundary) throw new Error('multipart without boundary');
    const delimiter = `--${boundary}`;
    const end = bodyText.indexOf(`\r\n${delimiter}--`);
    if (end < 0) throw new Error(`no closing delimiter ${delimiter}--`);
    const chunks = `\r\n${bodyText.slice(0, end)}`.split(`\r\n${delimiter}\r\n`).slice(1);
    part.parts = chunks.map(parseMime);
  } else {
    part.body = decodeBody(bodyText, (header('content-transfer-encoding') ?? '7bit').toLowerCase());
  }
  return part;
}

/** Every leaf part, depth first. */
export function leaves(part: MimePart): MimePart[] {
  return part.parts.length ? part.parts.flatMap(leaves) : [part];
}

function decodeBody(text: string, encoding: string): string {
  if (encoding === 'base64') return Buffer.from(text.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') return qp(text.replace(/=\r\n/g, ''));
  return text;
}

function qp(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '=' && /^[0-9A-F]{2}$/i.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** RFC 2047 encoded words (whitespace between two adjacent words is dropped). */
function decodeWords(value: string): string {
  return value
    .replace(/(=\?[^?]+\?[QqBb]\?[^?]*\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_, _charset: string, enc: string, data: string) =>
      enc.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('utf8') : qp(data.replace(/_/g, ' ')));
}
