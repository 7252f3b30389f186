// How a probe names its destination: IPv6 literals need brackets in URLs and gRPC targets.
export { hostForUrl, formatHostPort as hostPort } from '../net/host-port.js';

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
