/** The bench reports' small Markdown and text helpers, shared by the sync, FTPS and daemon parts. */

export function mdTable(head: string[], rows: string[][], align?: string[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map((_, i) => align?.[i] ?? '---').join(' | ')} |`];
  for (const r of rows) lines.push(`| ${r.map(esc).join(' | ')} |`);
  return lines.join('\n');
}

/** A number with `digits` decimals, or an em dash when there is none. */
export function fmtNum(n: number | null | undefined, digits = 2): string {
  return n == null || !Number.isFinite(n) ? '—' : n.toFixed(digits);
}

/** A database URL without its password, for reports and logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
