// Who may use the admin API: the listen address rule (a token off loopback), the Host header rule against DNS
// rebinding without a token, and the bearer token itself.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { hostHeaderName } from './request-target.js';

export const NON_LOOPBACK_WITHOUT_TOKEN =
  '--admin-token is required when the admin listener binds a non-loopback address';

export function parseListenAddress(address: string): { host: string; port: number } {
  const trimmed = address.trim();
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(trimmed) ?? /^()()(\d+)$/.exec(trimmed);
  if (!match) throw new Error(`invalid admin address "${address}": expected host:port, e.g. 127.0.0.1:19000`);
  const port = Number(match[3]);
  if (!Number.isInteger(port) || port > 65535) throw new Error(`invalid admin address "${address}": bad port`);
  const host = match[1] || match[2] || '127.0.0.1';
  return { host, port };
}

export function isLoopbackHost(host: string): boolean {
  const bare = host.toLowerCase().replace(/^::ffff:/, '');
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/**
 * Without a token, a Host header must name this machine: a web page that rebinds its own hostname to 127.0.0.1
 * reaches a loopback listener from the victim's browser, but its requests still carry that hostname. A request
 * with no Host header (HTTP/1.0) is no browser's.
 */
export function isAllowedHostHeader(header: string | undefined, boundHost: string): boolean {
  if (header === undefined) return true;
  const name = hostHeaderName(header);
  if (name === undefined || name === '') return false;
  return isLoopbackHost(name) || name === boundHost.toLowerCase();
}

/** Constant-time comparison; hashing first makes the lengths equal so the length does not leak either. */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function presentedToken(request: IncomingMessage, query: URLSearchParams, allowQuery: boolean): string | undefined {
  const header = request.headers.authorization;
  const match = header ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
  if (match) return match[1];
  // A browser cannot put a header on a navigation, so the HTML pages (and only they) also accept ?token=.
  return allowQuery ? (query.get('token') ?? undefined) : undefined;
}
