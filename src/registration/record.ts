// The value a registration writes to etcd: the native JSON record of DESIGN.md (format 1), and the validation of the
// fields a caller supplies for it. Shared by the SDK, the CLI and the registrar so all three write the same thing.
// The limits are the reader's (registry/registration-rules.ts), and every record is read back with the reader's own
// parser before it is written: a writer here can never publish what the control plane would reject.
import net from 'node:net';
import { z } from 'zod';
import type { HealthCheckSpec, InstanceStatus, Locality, RegistrationRecord } from '../registry/types.js';
import { SERVICE_NAME_RULE, isValidServiceName, parseRegistration } from '../registry/parse.js';
import { MAX_HEALTH_TIMING_MS, MAX_PRIORITY, MAX_WEIGHT, MIN_HEALTH_INTERVAL_MS } from '../registry/registration-rules.js';

export type { RegistrationRecord };

export const DEFAULT_PREFIX = '/services/';

export const serviceNameSchema = z
  .string()
  .refine(isValidServiceName, `service name must be ${SERVICE_NAME_RULE}`);
export const ipAddressSchema = z
  .string()
  .refine((value) => net.isIP(value) !== 0, 'must be an IPv4 or IPv6 literal (Envoy rejects hostnames)');
export const portSchema = z.number().int('port must be an integer').min(1, 'port must be 1–65535').max(65535, 'port must be 1–65535');
export const weightSchema = z
  .number()
  .int('weight must be an integer')
  .min(0, 'weight must be ≥ 0 (0 means draining)')
  .max(MAX_WEIGHT, `weight must be at most ${MAX_WEIGHT}`);
export const prioritySchema = z
  .number()
  .int('priority must be an integer')
  .min(0, `priority must be 0–${MAX_PRIORITY}`)
  .max(MAX_PRIORITY, `priority must be 0–${MAX_PRIORITY}`);
export const instanceIdSchema = z.string().min(1, 'instance id must not be empty');
export const localitySchema = z.strictObject({
  region: z.string().optional(),
  zone: z.string().optional(),
  subZone: z.string().optional(),
});
export const metadataSchema = z.record(z.string(), z.string());

/** The record's numbers are proto uint32 fields. */
const UINT32_MAX = 4_294_967_295;
export const healthIntervalSchema = z
  .number()
  .int()
  .min(MIN_HEALTH_INTERVAL_MS, `intervalMs must be at least ${MIN_HEALTH_INTERVAL_MS}`)
  .max(MAX_HEALTH_TIMING_MS, `intervalMs must be at most ${MAX_HEALTH_TIMING_MS} (one hour)`);
export const healthTimeoutSchema = z.number().int().positive().max(MAX_HEALTH_TIMING_MS, `timeoutMs must be at most ${MAX_HEALTH_TIMING_MS} (one hour)`);
const probeTiming = {
  intervalMs: healthIntervalSchema.optional(),
  timeoutMs: healthTimeoutSchema.optional(),
  healthyThreshold: z.number().int().positive().max(UINT32_MAX).optional(),
  unhealthyThreshold: z.number().int().positive().max(UINT32_MAX).optional(),
  port: portSchema.optional(),
};
export const healthCheckSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('tcp'), ...probeTiming }),
  z.strictObject({
    type: z.literal('http'),
    path: z.string().startsWith('/', 'path must start with /').optional(),
    expectedStatus: z.number().int().min(100).max(599).optional(),
    ...probeTiming,
  }),
  z.strictObject({ type: z.literal('grpc'), service: z.string().optional(), ...probeTiming }),
]);

/** Zod issues as `path: message` lines, so a config or option error names the field at fault. */
export function describeIssues(error: z.ZodError, root = ''): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.reduce<string>(
        (acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)),
        root,
      );
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('; ');
}

/** `/services` and `/services/` both mean the directory `/services/`. */
export function normalizePrefix(prefix: string): string {
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}

export function registrationKey(prefix: string, service: string, instanceId: string): string {
  return `${normalizePrefix(prefix)}${service}/${instanceId}`;
}

export interface RecordFields {
  address: string;
  port: number;
  weight?: number;
  status?: InstanceStatus;
  priority?: number;
  locality?: Locality;
  metadata?: Record<string, string>;
  healthCheck?: HealthCheckSpec;
}

/** Fills defaults; leaves out empty locality fields and an absent health check so the JSON stays minimal. */
export function buildRecord(fields: RecordFields): RegistrationRecord {
  const locality: Locality = {};
  if (fields.locality?.region) locality.region = fields.locality.region;
  if (fields.locality?.zone) locality.zone = fields.locality.zone;
  if (fields.locality?.subZone) locality.subZone = fields.locality.subZone;
  const record: RegistrationRecord = {
    address: fields.address,
    port: fields.port,
    weight: fields.weight ?? 1,
    status: fields.status ?? 'serving',
    priority: fields.priority ?? 0,
    locality,
    metadata: { ...(fields.metadata ?? {}) },
  };
  if (fields.healthCheck) record.healthCheck = fields.healthCheck;
  return record;
}

export function encodeRecord(record: RegistrationRecord): string {
  return JSON.stringify(record);
}

/**
 * What the control plane would say about this record under this key: undefined when it accepts it, else its reason.
 * The reader's own parser decides, so the writers and the reader cannot drift apart.
 */
export function readerRejection(prefix: string, service: string, instanceId: string, record: RegistrationRecord): string | undefined {
  const result = parseRegistration({
    prefix: normalizePrefix(prefix),
    key: registrationKey(prefix, service, instanceId),
    value: encodeRecord(record),
    lease: '0',
    modRevision: '0',
  });
  return result.ok ? undefined : result.reason;
}
