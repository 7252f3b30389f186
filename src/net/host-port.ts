// How a host and a port are written together: an IPv6 literal needs brackets (`[::1]:8080`) in URLs, gRPC targets,
// listen addresses and everything people read.

/** `10.0.0.5` stays as is; `::1` becomes `[::1]`. */
export function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** `host:port`, with brackets around an IPv6 literal. */
export function formatHostPort(host: string, port: number): string {
  return `${hostForUrl(host)}:${port}`;
}
