/**
 * What one run's outcome looks like to the people and scripts outside: the e-mail (subject, plain
 * text, HTML, issues.csv) and the result files written back into the FTPS folder. One RunReport
 * feeds all of them, so the mail, `results/<upload>.json` and `.txt` can never disagree. Pure (no
 * I/O), so every rendering is tested without a server. Everything that came from the upload (file
 * names, messages, sourcedIds) is untrusted: HTML-escaped in HTML, stripped of control and
 * bidirectional-override characters in text and subjects.
 */
import type { SyncIssue } from '../oneroster/issues';
import { shorten } from '../oneroster/shorten';
import { ACTIONS, ENTITY_KINDS, type RunStatus, type SyncCounts, type SyncResult } from '../sync/types';
import { plural } from '../util/plural';
import { issuesCsv } from './issues-csv';
import { issueJson, jsonListedIssues, mailListedIssues } from './listed-issues';

export interface RunReport {
  runId: number;
  domain: { userspace: string; name: string };
  /** as uploaded */
  fileName: string;
  /** 'userspace/username', or null (CLI, watcher without a login) */
  uploadedBy: string | null;
  sha256: string | null;
  status: RunStatus;
  validateOnly: boolean;
  /** applied past the safety threshold and the identical-file check (force/, `sync --force`) */
  forced: boolean;
  message: string;
  /** null for skipped runs (nothing was read) */
  counts: SyncCounts | null;
  /** the kept issues */
  issues: SyncIssue[];
  issueTotals: { error: number; warning: number; info: number };
  /** issues counted in the totals but not kept in `issues` */
  issuesDropped: number;
  /**
   * where every kept issue is, as the uploader sees it over FTPS (`results/<upload>.issues.csv`);
   * absent when no such file is written (the JSON and the mail list only the first issues)
   */
  issuesFile?: string;
  startedAt: Date | null;
  finishedAt: Date;
  durationMs: number | null;
  /** a held run: how many removals it lists, where to decide on it, and when it expires */
  held?: HeldInfo;
  /** a held run an administrator approved (or discarded): who and when */
  decision?: { by: string; at: Date | null; approved: boolean };
}

export interface HeldInfo {
  removals: number;
  /** the run's page (`${ROSTERDROP_HTTP_PUBLIC_URL}/runs/${id}`), or null: the mail names the CLI commands */
  link: string | null;
  /** days after which nobody's decision lets it expire */
  expiresInDays?: number;
}

export interface ReportContext {
  domain: { userspace: string; name: string };
  uploadedBy: string | null;
  forced: boolean;
}

export function reportFromResult(result: SyncResult, ctx: ReportContext): RunReport {
  return {
    runId: result.runId,
    domain: { userspace: ctx.domain.userspace, name: ctx.domain.name },
    fileName: result.fileName,
    uploadedBy: ctx.uploadedBy,
    sha256: result.sha256,
    status: result.status,
    validateOnly: result.mode === 'validate',
    forced: ctx.forced,
    message: result.message,
    counts: result.counts,
    issues: result.issues,
    issueTotals: { ...result.issueTotals },
    issuesDropped: result.issuesDropped,
    startedAt: result.startedAt,
    finishedAt: result.finishedAt,
    durationMs: result.durationMs,
  };
}

// ---------------------------------------------------------------------------------------------
// results/<upload>.json

/**
 * The body of `results/<upload>.json`. Field names are a contract with the districts' SIS
 * scripts: add fields, never rename. Dates are ISO 8601 UTC strings; `counts` is null for a
 * skipped run; `issues` holds the first kept issues, up to a byte budget (`issuesNotListed` more
 * are in the file `issuesFile`; `issuesDropped` more were only counted).
 */
export function resultJson(r: RunReport): Record<string, unknown> {
  const listed = jsonListedIssues(r.issues);
  return {
    runId: r.runId,
    domain: { userspace: r.domain.userspace, name: r.domain.name },
    file: r.fileName,
    sha256: r.sha256,
    status: r.status,
    validateOnly: r.validateOnly,
    forced: r.forced,
    message: r.message,
    counts: r.counts ? orderedCounts(r.counts) : null,
    issueTotals: { error: r.issueTotals.error, warning: r.issueTotals.warning, info: r.issueTotals.info },
    issuesDropped: r.issuesDropped,
    issues: listed.map(issueJson),
    issuesNotListed: r.issues.length - listed.length,
    issuesFile: r.issuesFile ?? null,
    startedAt: r.startedAt ? r.startedAt.toISOString() : null,
    finishedAt: r.finishedAt.toISOString(),
    durationMs: r.durationMs,
    uploadedBy: r.uploadedBy,
    ...(r.held ? { held: { removals: r.held.removals, link: r.held.link } } : {}),
    ...(r.decision ? { decision: { by: r.decision.by, at: r.decision.at?.toISOString() ?? null, approved: r.decision.approved } } : {}),
  };
}

function orderedCounts(counts: SyncCounts): SyncCounts {
  const out = {} as SyncCounts;
  for (const kind of ENTITY_KINDS) {
    const c = counts[kind];
    out[kind] = { created: c.created, updated: c.updated, unchanged: c.unchanged, removed: c.removed, restored: c.restored };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// shared wording

export const DEFAULT_MAX_ERRORS = 20;
/** longest issue message shown in text and HTML (issues.csv and the JSON keep them whole) */
const MAX_MESSAGE_CHARS = 300;
/** longest file name shown in a subject */
const MAX_SUBJECT_FILE_CHARS = 120;

/** "completed with errors"; a validation that found the apply would be held says so. */
export function statusLabel(r: RunReport): string {
  if (r.status === 'validated') {
    if (wouldBeRefused(r)) return `validated: an apply would be ${r.issues.some((i) => /would be refused/.test(i.message)) ? 'refused' : 'held'}`;
    return r.issueTotals.error > 0 ? 'validated with errors' : 'validated';
  }
  if (r.status === 'held') return 'held for review';
  const label = r.status.replace(/_/g, ' ');
  return r.validateOnly && r.status !== 'skipped' ? `${label} (validation only)` : label;
}

function wouldBeRefused(r: RunReport): boolean {
  return r.issues.some((i) => i.code === 'apply.safety_threshold' && /would be (refused|held)/.test(i.message));
}

/** "83 ms", "4.2s", "42s", "1m 12s", "2h 5m" */
export function shortDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/**
 * Untrusted text on one line: control characters (line breaks included) and the invisible
 * direction overrides that can make "gpj.exe" look like "exe.jpg" become one space.
 */
export function clean(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]+/g, ' ').trim();
}

function instant(d: Date | null): string {
  return d ? `${d.toISOString().slice(0, 19).replace('T', ' ')}Z` : '';
}


function totalsLine(t: RunReport['issueTotals']): string {
  return `${plural(t.error, 'error')}, ${plural(t.warning, 'warning')}, ${t.info.toLocaleString('en-US')} info`;
}

/** The header lines: label and value, in the order the mail's first lines show them. */
function facts(r: RunReport): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ['Domain', r.domain.name && r.domain.name !== r.domain.userspace ? `${clean(r.domain.name)} (${clean(r.domain.userspace)})` : clean(r.domain.userspace)],
    ['File', clean(r.fileName)],
    ['Status', statusLabel(r)],
    ['Duration', shortDuration(r.durationMs) || '–'],
    ['Run', `${r.runId}${r.validateOnly ? ' (validation only: nothing was changed)' : r.forced ? ' (forced: past the safety threshold, even if identical to the last file)' : ''}`],
  ];
  if (r.uploadedBy) rows.push(['Uploaded by', clean(r.uploadedBy)]);
  if (r.decision) rows.push([r.decision.approved ? 'Approved by' : 'Decided by', `${clean(r.decision.by)}${r.decision.at ? ` at ${instant(r.decision.at)}` : ''}`]);
  if (r.startedAt) rows.push(['Started', instant(r.startedAt)]);
  rows.push(['Finished', instant(r.finishedAt)]);
  if (r.sha256) rows.push(['SHA-256', r.sha256]);
  return rows;
}

function countsCaption(r: RunReport): string {
  if (r.status === 'held') return 'What approving it would change (nothing was changed yet):';
  return r.validateOnly ? 'What an apply would change (nothing was changed):' : 'Changes:';
}

/** the first `max` kept issues of a severity, and how many of that severity are not shown */
function firstIssues(r: RunReport, max: number, severity: 'error' | 'warning' = 'error'): { shown: SyncIssue[]; more: number } {
  const limit = Math.max(0, Math.floor(max));
  const shown = limit > 0 ? r.issues.filter((i) => i.severity === severity).slice(0, limit) : [];
  return { shown, more: Math.max(0, r.issueTotals[severity] - shown.length) };
}

/** A failed or refused sync rolled back: its counts are what it had planned, not changes. */
function changedNothing(r: RunReport): boolean {
  return r.status === 'failed' || r.status === 'refused';
}

/** `users.csv:10:username value.required: username is blank (sourcedId u1)`; whole-upload problems read `(upload)`. */
export function issueLine(i: SyncIssue): string {
  const where = i.file ? [clean(i.file), i.line !== null ? String(i.line) : '', i.column ? clean(i.column) : ''].filter(Boolean).join(':') : '(upload)';
  const sid = i.sourcedId ? ` (sourcedId ${shorten(clean(i.sourcedId), 80)})` : '';
  return `${where} ${i.code}: ${shorten(clean(i.message), MAX_MESSAGE_CHARS)}${sid}`;
}

function countsTextTable(counts: SyncCounts): string {
  const header = ['', ...ACTIONS];
  const rows = ENTITY_KINDS.map((kind) => [kind, ...ACTIONS.map((a) => counts[kind][a].toLocaleString('en-US'))]);
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((row) => row[col].length)));
  const line = (cells: string[]) => cells.map((c, col) => (col === 0 ? c.padEnd(widths[col]) : c.padStart(widths[col]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/**
 * After the issue totals: where the issues are. `attached` is how many the mail's issues.csv
 * holds; null for the `.txt`, which has no attachment.
 */
function whereIssuesAre(r: RunReport, attached: number | null): string {
  const kept = r.issues.length;
  if (kept === 0) return '';
  if (attached === null) return r.issuesFile ? ` The full list is in ${r.issuesFile}.` : '';
  if (attached === kept) return ' All are in the attached issues.csv.';
  const left = kept - attached;
  const where = r.issuesFile ? `${r.issuesFile} in the upload folder` : `\`rosterdrop run show ${r.runId} --issues-csv issues.csv\` on the server`;
  return ` The attached issues.csv holds the first ${attached.toLocaleString('en-US')}; ${plural(left, 'more issue')} ${left === 1 ? 'was' : 'were'} ` +
    `left out to keep this mail small. All ${kept.toLocaleString('en-US')} are in ${where}.`;
}

/**
 * The text after the header lines: message, counts, issue totals, the first errors, and (where no
 * issues.csv comes with it: the `.txt`) the first warnings. `attached` as in whereIssuesAre.
 */
function textBody(r: RunReport, maxErrors: number, attached: number | null): string[] {
  const lines: string[] = [];
  if (r.message) lines.push('', clean(r.message));
  if (r.held) lines.push('', ...heldLines(r, r.held));
  if (!r.counts) lines.push('', 'No sync ran.');
  else if (changedNothing(r)) lines.push('', 'Nothing was changed.');
  else lines.push('', countsCaption(r), countsTextTable(r.counts));
  lines.push('', `Issues: ${totalsLine(r.issueTotals)}.${whereIssuesAre(r, attached)}`);
  const csvAttached = attached !== null && attached > 0;
  for (const severity of csvAttached ? ['error'] as const : ['error', 'warning'] as const) {
    const { shown, more } = firstIssues(r, maxErrors, severity);
    if (!shown.length) continue;
    lines.push('', `First ${plural(shown.length, severity)} (file:line:column rule: message):`);
    for (const i of shown) lines.push(`  ${issueLine(i)}`);
    if (more > 0) lines.push(`  … ${plural(more, `more ${severity}`)}${csvAttached ? ' (see issues.csv)' : ''}`);
  }
  if (r.issuesDropped > 0) lines.push(`  ${plural(r.issuesDropped, 'further issue')} ${r.issuesDropped === 1 ? 'was' : 'were'} counted but not kept${csvAttached ? ' (not in issues.csv)' : ''}.`);
  return lines;
}

/** Why a run is held, how many removals, and where to decide on it (the page, else the CLI). */
export function heldLines(r: RunReport, held: HeldInfo): string[] {
  const lines = [`This sync is held for review: nothing was changed. It would remove or deactivate ${plural(held.removals, 'entity', 'entities')}` +
    `${held.removals ? ' (the full list is on the run\'s page)' : ''}.`];
  if (held.link) lines.push(`Review the removals and approve or discard it: ${held.link}`);
  else lines.push(`See \`rosterdrop run show ${r.runId}\` on the server; \`rosterdrop run approve ${r.runId}\` applies it, \`rosterdrop run discard ${r.runId}\` drops it.`);
  if (held.expiresInDays) lines.push(`Unless someone decides, it expires in ${plural(held.expiresInDays, 'day')}.`);
  return lines;
}

function factLines(r: RunReport): string[] {
  const rows = facts(r);
  const width = Math.max(...rows.map(([label]) => label.length)) + 1;
  return rows.map(([label, value]) => `${`${label}:`.padEnd(width)} ${value}`);
}

// ---------------------------------------------------------------------------------------------
// results/<upload>.txt

/**
 * The short `.txt` next to the JSON: a first line a script can `head -1` (status token, file,
 * run), the header lines, counts, and the first `maxErrors` errors (0: none).
 */
export function resultText(r: RunReport, maxErrors = DEFAULT_MAX_ERRORS): string {
  const lines = [`${r.status}: ${clean(r.fileName)} (run ${r.runId})`, '', ...factLines(r), ...textBody(r, maxErrors, null)];
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// the e-mail

export interface ComposedMail {
  subject: string;
  text: string;
  html: string;
  attachments: Array<{ filename: string; content: string; contentType: string }>;
}

/** `[rosterdrop] district: roster.zip — completed with errors (1m 12s)` */
export function mailSubject(r: RunReport): string {
  const duration = shortDuration(r.durationMs);
  const file = shorten(clean(r.fileName), MAX_SUBJECT_FILE_CHARS) || '(no name)';
  return `[rosterdrop] ${clean(r.domain.userspace)}: ${file} — ${statusLabel(r)}${duration ? ` (${duration})` : ''}`;
}

/**
 * The report mail. The first lines repeat domain, file, status and duration (phones show only
 * those); then counts per entity, the first `maxErrors` errors (default 20; 0: none), and the
 * kept issues as issues.csv, as many as its byte budget holds (listed-issues.ts; attached only
 * when there is at least one).
 */
export function composeMail(r: RunReport, opts: { maxErrors?: number } = {}): ComposedMail {
  const maxErrors = opts.maxErrors ?? DEFAULT_MAX_ERRORS;
  const attached = mailListedIssues(r.issues);
  const subject = mailSubject(r);
  const text = `${[...factLines(r), ...textBody(r, maxErrors, attached.length)].join('\n')}\n`;
  const attachments = attached.length ? [{ filename: 'issues.csv', content: issuesCsv(attached), contentType: 'text/csv; charset=utf-8' }] : [];
  return { subject, text, html: mailHtml(r, subject, maxErrors, attached.length), attachments };
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

const STATUS_COLOURS: Partial<Record<RunStatus, string>> = {
  succeeded: '#1a7f37', validated: '#1a7f37', completed_with_errors: '#9a6700', failed: '#cf222e', refused: '#cf222e', held: '#9a6700', skipped: '#57606a',
};

/** HTML for mail clients: inline styles, tables, no scripts, no remote content; every value escaped. */
function mailHtml(r: RunReport, subject: string, maxErrors: number, attached: number): string {
  const e = escapeHtml;
  const csvAttached = attached > 0;
  const cell = 'padding:2px 8px;border:1px solid #d0d7de;';
  const colour = r.status === 'validated' && (r.issueTotals.error > 0 || wouldBeRefused(r)) ? '#9a6700' : STATUS_COLOURS[r.status] ?? '#24292f';
  const out: string[] = [];
  out.push('<!DOCTYPE html>', '<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">',
    `<title>${e(subject)}</title></head>`, '<body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#24292f;">');
  out.push(`<h2 style="margin:0 0 8px 0;color:${colour};">${e(statusLabel(r))}</h2>`);
  out.push('<table style="border-collapse:collapse;margin-bottom:12px;">');
  for (const [label, value] of facts(r)) {
    out.push(`<tr><th style="text-align:left;padding:1px 12px 1px 0;">${e(label)}</th><td style="padding:1px 0;">${e(value)}</td></tr>`);
  }
  out.push('</table>');
  if (r.message) out.push(`<p style="margin:0 0 12px 0;"><strong>${e(clean(r.message))}</strong></p>`);
  if (r.held) {
    const [why, ...rest] = heldLines(r, r.held);
    out.push(`<p style="margin:0 0 12px 0;">${e(why)}</p>`);
    // the link is ours (the configured public URL and a run number), still escaped like the rest
    if (r.held.link) out.push(`<p style="margin:0 0 12px 0;"><a href="${e(r.held.link)}">Review run ${r.runId}: approve or discard it</a></p>`);
    for (const line of rest.slice(r.held.link ? 1 : 0)) out.push(`<p style="margin:0 0 12px 0;">${e(line)}</p>`);
  }

  if (r.counts && changedNothing(r)) {
    out.push('<p>Nothing was changed.</p>');
  } else if (r.counts) {
    out.push(`<p style="margin:12px 0 4px 0;">${e(countsCaption(r))}</p>`);
    out.push('<table style="border-collapse:collapse;">',
      `<tr><th style="${cell}"></th>${ACTIONS.map((a) => `<th style="${cell}">${e(a)}</th>`).join('')}</tr>`);
    for (const kind of ENTITY_KINDS) {
      out.push(`<tr><th style="${cell}text-align:left;">${e(kind)}</th>${ACTIONS.map((a) => `<td style="${cell}text-align:right;">${r.counts![kind][a].toLocaleString('en-US')}</td>`).join('')}</tr>`);
    }
    out.push('</table>');
  } else {
    out.push('<p>No sync ran.</p>');
  }

  out.push(`<p style="margin:12px 0 4px 0;">Issues: ${e(`${totalsLine(r.issueTotals)}.${whereIssuesAre(r, attached)}`)}</p>`);
  const { shown, more } = firstIssues(r, maxErrors);
  if (shown.length) {
    out.push(`<p style="margin:12px 0 4px 0;">First ${e(plural(shown.length, 'error'))}:</p>`, '<table style="border-collapse:collapse;">',
      `<tr>${['File', 'Line', 'Column', 'Rule', 'sourcedId', 'Message'].map((h) => `<th style="${cell}text-align:left;">${h}</th>`).join('')}</tr>`);
    for (const i of shown) {
      const values = [i.file ? clean(i.file) : '(upload)', i.line !== null ? String(i.line) : '', i.column ? clean(i.column) : '', i.code,
        i.sourcedId ? shorten(clean(i.sourcedId), 80) : '', shorten(clean(i.message), MAX_MESSAGE_CHARS)];
      out.push(`<tr>${values.map((v) => `<td style="${cell}">${e(v)}</td>`).join('')}</tr>`);
    }
    out.push('</table>');
    if (more > 0) out.push(`<p style="margin:4px 0;">… ${e(plural(more, 'more error'))}${csvAttached ? ' (see issues.csv)' : ''}</p>`);
  }
  if (r.issuesDropped > 0) {
    out.push(`<p style="margin:4px 0;">${e(plural(r.issuesDropped, 'further issue'))} ${r.issuesDropped === 1 ? 'was' : 'were'} counted but not kept${csvAttached ? ' (not in issues.csv)' : ''}.</p>`);
  }
  out.push('</body></html>');
  return `${out.join('\n')}\n`;
}
