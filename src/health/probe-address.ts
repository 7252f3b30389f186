// How a probe names its destination: IPv6 literals need brackets in URLs and gRPC targets.
import net from 'node:net';

/** `10.0.0.5` stays as is; `::1` becomes `[::1]`. */
export function hostForUrl(address: string): string {
  return net.isIPv6(address) ? `[${address}]` : address;
}

/** `host:port` with IPv6 brackets, as gRPC targets and logs write it. */
export function hostPort(address: string, port: number): string {
  return `${hostForUrl(address)}:${port}`;
}

/** The reason an abort carried, as a probe error ("timeout after 1000 ms", "stopped"). */
export function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason.message;
  return typeof reason === 'string' ? reason : 'aborted';
}

/** A short, single-line description of anything thrown. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return code && !error.message.includes(code) ? `${code}: ${error.message}${cause}` : `${error.message}${cause}`;
  }
  return String(error);
}
