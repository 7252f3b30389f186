// The admin API's reading of a request target and of the Host header, done by hand: `new URL(target, base)` reads
// `//x/debug/services` as host `x` with path `/debug/services`, and throws on targets like `//[`.
import { isIP } from 'node:net';

/** The client's mistake (answered 400), as opposed to ours (500). */
export class BadRequest extends Error {}

export interface RequestTarget {
  /** The path as sent, %-escapes kept: routes match it raw and decode only the segments they capture. */
  path: string;
  query: URLSearchParams;
}

/** Origin-form only (`/path?query`): anything else, `//host/...` included, is a BadRequest. */
export function parseRequestTarget(raw: string | undefined): RequestTarget {
  const target = raw ?? '/';
  if (!target.startsWith('/') || target.startsWith('//')) {
    throw new BadRequest(`bad request target "${preview(target)}": expected a path starting with a single "/"`);
  }
  // A fragment is never meant for the server; drop it the way URL parsing did.
  const hash = target.indexOf('#');
  const withoutFragment = hash === -1 ? target : target.slice(0, hash);
  const question = withoutFragment.indexOf('?');
  if (question === -1) return { path: withoutFragment, query: new URLSearchParams() };
  return { path: withoutFragment.slice(0, question), query: new URLSearchParams(withoutFragment.slice(question + 1)) };
}

/** A query parameter's value; undefined when it is absent or empty (`?q=` filters nothing). */
export function optionalParam(query: URLSearchParams, name: string): string | undefined {
  const value = query.get(name);
  return value === null || value === '' ? undefined : value;
}

/** A %-escaped path segment decoded; a malformed escape is a BadRequest. */
export function decodePathSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new BadRequest(`malformed path segment "${preview(raw)}"`);
  }
}

/**
 * The host part of a Host header, lower-cased, without brackets or port; undefined when the header is malformed.
 * A bracketed host must be an IPv6 literal and an IPv6 literal must be bracketed, so `[localhost]` and `::1` fail.
 */
export function hostHeaderName(header: string): string | undefined {
  const match = /^(?:\[([^\]]*)\]|([^:[\]]*))(?::\d*)?$/.exec(header.trim());
  if (!match) return undefined;
  if (match[1] !== undefined) return isIP(match[1]) === 6 ? match[1].toLowerCase() : undefined;
  return match[2]!.toLowerCase();
}

/** Echoed in an error, a client's text stays short. */
export function preview(text: string): string {
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}
