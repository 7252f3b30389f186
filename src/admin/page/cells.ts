// Small pieces of the human pages: times, pills, numbers, and long strings cut with the full value on hover.
import { html, type SafeHtml } from './html.js';

/** How many characters of an id, user agent or key a table cell shows before cutting (full value on hover). */
export const CELL_TEXT_LIMIT = 48;

export function ago(iso: string | null, now: number): string {
  if (!iso) return '—';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

export function locality(value: { region?: string; zone?: string; subZone?: string } | null): string {
  const parts = [value?.region, value?.zone, value?.subZone].filter((p): p is string => !!p);
  return parts.length > 0 ? parts.join(' / ') : '—';
}

export function pill(text: string, tone: string, title?: string): SafeHtml {
  return html`<span class="pill ${tone.toLowerCase()}" title="${title ?? ''}">${text}</span>`;
}

export function stat(label: string, value: string | number, tone = ''): SafeHtml {
  return html`<div class="stat ${tone}"><span class="value">${value}</span><span class="label">${label}</span></div>`;
}

/** `text` cut to `limit` characters; the whole of it (as the view holds it) in the title, escaped like the rest. */
export function clip(text: string, limit = CELL_TEXT_LIMIT): SafeHtml {
  if (text.length <= limit) return html`${text}`;
  return html`<span class="clipped" title="${text}">${text.slice(0, limit)}…</span>`;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** A link to another admin page, carrying the `?token=` the page was opened with. */
export function pageHref(path: string, params: Record<string, string | undefined>, token: string | undefined): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') query.set(key, value);
  if (token !== undefined) query.set('token', token);
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}
