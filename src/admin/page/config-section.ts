// The configuration on the human pages: each object's kind, name and validation state (a rejected value stands out
// with its reason), and the nodes it reaches, counted with a few ids. `/` shows the rejected ones first and a link to
// `/config`, which lists them all by page.
import { configCountsText, type ConfigEntryView, type ConfigOverview, type ConfigResponse, type ConfigState } from '../config-view.js';
import { clip, pageHref, pill, plural } from './cells.js';
import { html, type SafeHtml } from './html.js';

/** Node ids named per object before "and N more". */
const REACHED_SHOWN = 5;

const STATE_TONE: Readonly<Record<ConfigState, string>> = {
  serving: 'healthy',
  'rejected, last good value serving': 'draining',
  'rejected, nothing serving': 'unhealthy',
};

function reachCell(entry: ConfigEntryView): SafeHtml {
  const { count, nodes } = entry.reaches;
  if (count === 0) return html`<span class="meta">${entry.spec ? 'no connected node' : 'nothing serves'}</span>`;
  const shown = nodes.slice(0, REACHED_SHOWN);
  const more = count - shown.length;
  return html`${plural(count, 'node')}<div class="meta">${shown.map(
    (id, i) => html`${i > 0 ? ', ' : ''}<span class="node">${clip(id)}</span>`,
  )}${more > 0 ? ` and ${more} more` : ''}</div>`;
}

function stateCell(entry: ConfigEntryView): SafeHtml {
  const { rejected } = entry;
  const head = pill(entry.state, STATE_TONE[entry.state], rejected ? `value at revision ${entry.modRevision} was rejected` : '');
  if (!rejected) return head;
  return html`${head}<div class="reason">${clip(rejected.reason, 400)}</div>${
    rejected.valuePreview ? html`<div class="meta mono">${clip(rejected.valuePreview, 120)}</div>` : ''
  }`;
}

function configRow(entry: ConfigEntryView): SafeHtml {
  const revision = entry.specModRevision !== null && entry.specModRevision !== entry.modRevision
    ? `${entry.modRevision} (serving ${entry.specModRevision})`
    : entry.modRevision;
  return html`<tr class="config${entry.rejected ? ' config-rejected' : ''}" data-key="${entry.key}" data-state="${entry.state}">
  <td class="nowrap">${entry.kind ?? html`<span class="meta">unknown kind</span>`}</td>
  <td><span class="node">${clip(entry.name || '(no name)')}</span><div class="meta mono">${clip(entry.key, 80)}</div></td>
  <td>${stateCell(entry)}</td>
  <td class="mono">${revision}</td>
  <td>${reachCell(entry)}</td>
</tr>`;
}

export function configTable(entries: readonly ConfigEntryView[]): SafeHtml {
  if (entries.length === 0) return html`<div class="empty">No configuration object in etcd.</div>`;
  return html`<table class="configuration"><thead><tr><th>Kind</th><th>Name</th><th>State</th><th>Revision</th><th>Reaches</th></tr></thead>
  <tbody>${entries.map(configRow)}</tbody></table>`;
}

/** The Configuration section of `/`: the overview's entries (rejected ones first) and a link to all of them. */
export function configSection(config: ConfigOverview, token: string | undefined): SafeHtml {
  const more = config.total > config.entries.length
    ? html`<div class="more"><a href="${pageHref('/config', {}, token)}">all ${config.total} configuration keys →</a></div>`
    : '';
  return html`<h2>Configuration</h2>
  <div class="card"><div class="card-head"><span class="meta">${configCountsText(config)}</span></div>${configTable(config.entries)}</div>${more}`;
}

/** `/config`: one page of every key, filtered as asked. */
export function configPageBody(config: ConfigResponse, params: Record<string, string | undefined>, token: string | undefined): SafeHtml {
  return html`<h2>Configuration (${config.total})</h2>
  <div class="card"><div class="card-head"><span class="meta">${configCountsText(config)}</span></div>${configTable(config.entries)}</div>
  ${config.nextCursor ? html`<div class="more"><a href="${pageHref('/config', { ...params, cursor: config.nextCursor }, token)}">next →</a></div>` : ''}`;
}
