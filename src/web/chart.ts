/**
 * The history's chart, drawn on the server: a pure function from finished runs to an SVG string
 * (no script, no inline style: the page's CSP allows neither). Bars are each run's duration, the
 * line its number of changes; every point has a <title> (a tooltip and what screen readers read),
 * the chart a <title> and <desc>. Every text is escaped.
 */
import { escapeHtml } from './html';

export interface ChartPoint {
  runId: number;
  at: Date;
  durationMs: number;
  changes: number;
  status: string;
}

const W = 640;
const H = 180;
const PAD = { left: 44, right: 44, top: 16, bottom: 24 };

export function historyChart(points: readonly ChartPoint[], title = 'Duration and changes of the last finished runs'): string {
  const head = `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="chart-title chart-desc">`
    + `<title id="chart-title">${escapeHtml(title)}</title>`;
  if (!points.length) {
    return `${head}<desc id="chart-desc">No finished run yet.</desc><text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="axis">No finished run yet</text></svg>`;
  }
  const maxMs = Math.max(...points.map((p) => p.durationMs), 1);
  const maxChanges = Math.max(...points.map((p) => p.changes), 1);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / points.length;
  const barW = Math.max(Math.min(step * 0.7, 24), 1);
  const y = (fraction: number) => PAD.top + plotH * (1 - fraction);
  const bars: string[] = [];
  const line: string[] = [];
  const dots: string[] = [];
  points.forEach((p, i) => {
    const cx = PAD.left + step * (i + 0.5);
    const top = y(p.durationMs / maxMs);
    const label = `Run ${p.runId}, ${p.at.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${p.status}: ${seconds(p.durationMs)}, ${p.changes} change${p.changes === 1 ? '' : 's'}`;
    bars.push(`<rect class="bar ${escapeHtml(statusClass(p.status))}" x="${fix(cx - barW / 2)}" y="${fix(top)}" width="${fix(barW)}" height="${fix(PAD.top + plotH - top)}"><title>${escapeHtml(label)}</title></rect>`);
    const ly = y(p.changes / maxChanges);
    line.push(`${fix(cx)},${fix(ly)}`);
    dots.push(`<circle class="dot" cx="${fix(cx)}" cy="${fix(ly)}" r="3"><title>${escapeHtml(label)}</title></circle>`);
  });
  const first = points[0];
  const last = points[points.length - 1];
  const desc = `${points.length} finished run${points.length === 1 ? '' : 's'} from run ${first.runId} to run ${last.runId}: `
    + `longest ${seconds(maxMs)}, most changes ${maxChanges}. Bars: duration (left scale); line: changes (right scale).`;
  return head + `<desc id="chart-desc">${escapeHtml(desc)}</desc>`
    + `<line class="axis" x1="${PAD.left}" y1="${PAD.top + plotH}" x2="${W - PAD.right}" y2="${PAD.top + plotH}"/>`
    + `<text class="axis" x="${PAD.left - 4}" y="${PAD.top + 8}" text-anchor="end">${escapeHtml(seconds(maxMs))}</text>`
    + `<text class="axis" x="${PAD.left - 4}" y="${PAD.top + plotH}" text-anchor="end">0</text>`
    + `<text class="axis changes" x="${W - PAD.right + 4}" y="${PAD.top + 8}">${maxChanges}</text>`
    + `<text class="axis changes" x="${W - PAD.right + 4}" y="${PAD.top + plotH}">0</text>`
    + `<text class="axis" x="${PAD.left}" y="${H - 6}">run ${first.runId}</text>`
    + `<text class="axis" x="${W - PAD.right}" y="${H - 6}" text-anchor="end">run ${last.runId}</text>`
    + bars.join('')
    + (points.length > 1 ? `<polyline class="changes" points="${line.join(' ')}"/>` : '')
    + dots.join('')
    + '</svg>';
}

export function seconds(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** a status as a class name: letters, digits, _ and - only */
function statusClass(status: string): string {
  return status.replace(/[^a-z0-9_-]/gi, '');
}

function fix(n: number): string {
  return String(Math.round(n * 10) / 10);
}
