// proto3 JSON duration text ("1.5s", as configuration objects hold it) → google.protobuf.Duration.
import type { Duration } from '../../generated/google/protobuf/Duration.js';

export function durationOf(text: string): Duration {
  const match = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(text);
  if (!match) throw new Error(`not a duration: ${JSON.stringify(text)}`);
  const sign = match[1] ? -1 : 1;
  const nanos = Number((match[3] ?? '').padEnd(9, '0'));
  return { seconds: String(sign * Number(match[2])), ...(nanos ? { nanos: sign * nanos } : {}) };
}
