/** The one stylesheet: readable on a phone (one column under 40em), no framework. */
export const APP_CSS = `
:root { --fg: #1d2330; --muted: #5b6475; --line: #d9dde5; --bg: #f6f7f9; --card: #fff; --accent: #1f5fbf;
  --ok: #1c7c3a; --warn: #9a6200; --bad: #b3261e; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg); line-height: 1.45; }
main { max-width: 72em; margin: 0 auto; padding: 1em; }
h1 { font-size: 1.5em; margin: .3em 0 .6em; } h2 { font-size: 1.15em; margin: 1.2em 0 .5em; }
a { color: var(--accent); }
nav.top { display: flex; gap: 1em; align-items: center; flex-wrap: wrap; padding: .6em 1em; background: #14213d; color: #fff; }
nav.top a, nav.top .link { color: #fff; } nav.top .brand { font-weight: 700; margin-right: auto; text-decoration: none; }
nav.top form { margin: 0; } .who { opacity: .85; }
.trail { margin: 0; color: var(--muted); font-size: .9em; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1em; margin: 0 0 1em; }
.narrow { max-width: 24em; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(18em, 1fr)); gap: 1em; }
label { display: block; font-weight: 600; margin: .6em 0 .2em; }
label.check { font-weight: 400; display: flex; gap: .4em; align-items: center; }
input, select, textarea { font: inherit; padding: .45em .5em; border: 1px solid var(--line); border-radius: 6px; width: 100%; max-width: 100%; background: #fff; }
input[type=checkbox], input[type=radio] { width: auto; }
button { font: inherit; margin-top: .8em; padding: .5em 1.1em; border: 0; border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
button.danger { background: var(--bad); } button.secondary { background: #6b7280; }
button.link { background: none; padding: 0; margin: 0; text-decoration: underline; }
form.inline { display: inline; }
.hint, .muted { color: var(--muted); font-size: .9em; }
.notice { padding: .6em .8em; border-radius: 6px; } .notice.error { background: #fde8e7; color: var(--bad); } .notice.ok { background: #e5f4ea; color: var(--ok); }
table { border-collapse: collapse; width: 100%; background: var(--card); font-size: .95em; }
th, td { text-align: left; padding: .4em .5em; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef0f4; }
.table-wrap { overflow-x: auto; }
.status { display: inline-block; padding: .05em .5em; border-radius: 1em; font-size: .85em; font-weight: 600; background: #e6e8ee; }
.status.succeeded, .status.validated { background: #e5f4ea; color: var(--ok); }
.status.completed_with_errors, .status.held { background: #fff3d6; color: var(--warn); }
.status.failed, .status.refused { background: #fde8e7; color: var(--bad); }
.status.queued, .status.running { background: #e3ecfb; color: var(--accent); }
.filters { display: flex; gap: .6em; flex-wrap: wrap; align-items: end; } .filters label { margin: 0; } .filters > * { flex: 0 1 12em; }
.pager { display: flex; gap: 1em; margin: .6em 0; }
svg.chart { width: 100%; height: auto; max-height: 14em; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
code { background: #eef0f4; padding: 0 .25em; border-radius: 4px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25em 1em; margin: 0; } dl.facts dt { font-weight: 600; color: var(--muted); } dl.facts dd { margin: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.status.error { background: #fde8e7; color: var(--bad); } .status.warning { background: #fff3d6; color: var(--warn); } .status.info { background: #e3ecfb; color: var(--accent); }
.setting { margin-bottom: .8em; } .setting .hint { margin: .15em 0 0; } .setting .check { display: flex; gap: .5em; align-items: center; } .setting .check label { margin: 0; }
.field-error { color: var(--bad); margin: .2em 0 0; font-weight: 600; } .has-error input, .has-error select, .has-error textarea { border-color: var(--bad); }
section.card > h2:first-child { margin-top: 0; }
ul.runs { margin: 0; padding-left: 1.2em; } .domain h3 { margin: 0 0 .4em; font-size: 1.05em; }
input.token { font-family: ui-monospace, monospace; }
svg.chart .bar { fill: #9db7e0; } svg.chart .bar.failed, svg.chart .bar.refused { fill: #e6a19c; }
svg.chart .changes { fill: none; stroke: var(--warn); stroke-width: 2; } svg.chart .dot { fill: var(--warn); }
svg.chart .axis { stroke: var(--line); fill: var(--muted); font-size: 11px; } svg.chart text.axis { stroke: none; }
.held-box { border-color: var(--warn); background: #fffaf0; } .decide { display: flex; gap: 1em; flex-wrap: wrap; }
.status.discarded, .status.expired { background: #e6e8ee; color: var(--muted); }
@media (max-width: 40em) { main { padding: .6em; } th, td { padding: .3em; } }
`;
