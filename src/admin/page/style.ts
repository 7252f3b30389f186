// The page's stylesheet, as a constant for the same reason as the script (tsc copies only .ts output).

export const PAGE_STYLE = `
:root {
  --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --panel: #ffffff; --bg: #f5f7fa;
  --healthy: #15803d; --healthy-bg: #dcfce7; --draining: #b45309; --draining-bg: #fef3c7;
  --unhealthy: #b91c1c; --unhealthy-bg: #fee2e2; --accent: #1d4ed8;
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: var(--ink); background: var(--bg); }
header { background: #102a43; color: #f0f4f8; padding: 14px 24px; display: flex; align-items: center; gap: 18px;
  flex-wrap: wrap; }
header h1 { font-size: 18px; margin: 0; font-weight: 650; letter-spacing: .2px; }
.refresh { margin-left: auto; font-size: 12px; }
.refresh.ok { color: #9fb3c8; }
.refresh.error { color: #ffb4b4; font-weight: 600; }
main { padding: 18px 24px 40px; max-width: 1500px; }
.summary { display: flex; gap: 10px; flex-wrap: wrap; margin-bottom: 18px; }
.stat { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 110px; }
.stat .value { font-size: 20px; font-weight: 650; display: block; }
.stat .label { color: var(--muted); font-size: 12px; }
.stat.bad .value { color: var(--unhealthy); }
.stat.good .value { color: var(--healthy); }
h2 { font-size: 15px; text-transform: uppercase; letter-spacing: .8px; color: var(--muted); margin: 26px 0 10px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; margin-bottom: 14px; overflow: hidden; }
.card-head { display: flex; align-items: baseline; gap: 14px; padding: 10px 14px; border-bottom: 1px solid var(--line);
  flex-wrap: wrap; }
.card-head h3 { margin: 0; font-size: 16px; }
.meta { color: var(--muted); font-size: 12px; }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; font-size: 11px; text-transform: uppercase; letter-spacing: .6px; color: var(--muted);
  font-weight: 600; padding: 6px 14px; background: #fafbfc; border-bottom: 1px solid var(--line); }
td { padding: 7px 14px; border-bottom: 1px solid var(--line); vertical-align: baseline; }
tr:last-child td { border-bottom: 0; }
.mono { font-family: ui-monospace, "SFMono-Regular", Menlo, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
.pill { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 11.5px; font-weight: 650;
  letter-spacing: .3px; white-space: nowrap; }
.pill.healthy, .pill.synced { color: var(--healthy); background: var(--healthy-bg); }
.pill.draining, .pill.stale { color: var(--draining); background: var(--draining-bg); }
.pill.unhealthy, .pill.nacked { color: var(--unhealthy); background: var(--unhealthy-bg); }
.pill.not_sent, .pill.none { color: var(--muted); background: #eef1f4; }
.kv { display: inline-block; margin: 0 6px 2px 0; padding: 0 6px; border-radius: 4px; background: #eef2ff;
  color: #3730a3; font-size: 12px; }
.rejected { background: #fff7ed; border-top: 1px solid #fed7aa; padding: 8px 14px; }
.rejected-title { color: #9a3412; font-weight: 650; font-size: 12px; text-transform: uppercase; letter-spacing: .6px; }
.rejected-row { margin-top: 4px; }
.reason { color: #9a3412; }
.nack-error { color: var(--unhealthy); font-weight: 600; white-space: pre-wrap; word-break: break-word; }
.probe-error { color: var(--unhealthy); }
.subscribers { padding: 8px 14px; border-top: 1px solid var(--line); color: var(--muted); font-size: 12.5px; }
.node { color: var(--ink); font-weight: 600; white-space: nowrap; }
td.mono, .nowrap { white-space: nowrap; }
.empty { color: var(--muted); padding: 10px 14px; font-style: italic; }
.banner { padding: 10px 14px; border-radius: 8px; margin-bottom: 14px; font-weight: 600; }
.banner.warn { background: var(--draining-bg); color: var(--draining); }
a { color: var(--accent); }
footer { color: var(--muted); font-size: 12px; margin-top: 24px; }
.clipped { cursor: help; border-bottom: 1px dotted var(--muted); }
td { max-width: 420px; overflow-wrap: anywhere; }
.search { display: flex; gap: 10px; align-items: center; margin-bottom: 12px; flex-wrap: wrap; }
.search input[type=search] { padding: 5px 10px; border: 1px solid var(--line); border-radius: 6px; min-width: 260px; }
.more, .crumbs { margin: 8px 0 14px; }
.pill.not_found { color: var(--draining); background: var(--draining-bg); }
tr.config-rejected td { background: #fff7ed; }
tr.config-rejected td:first-child { box-shadow: inset 3px 0 0 var(--unhealthy); }
`;
