// The registrar's YAML file: instances that cannot register themselves (legacy hosts, databases, appliances), each
// with the probe that decides whether it is listed as serving, unhealthy, or not at all.
//
//   ttlSeconds: 10            # optional, lease TTL for every instance
//   instances:
//     - service: billing
//       address: 10.0.0.7
//       port: 8080
//       locality: { zone: eu-west-1a }
//       probe: { type: http, path: /healthz, intervalMs: 2000, timeoutMs: 500 }
//       removeAfterSeconds: 60
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { MAX_HEALTH_TIMING_MS } from '../registry/registration-rules.js';
import {
  buildRecord,
  describeIssues,
  healthIntervalSchema,
  healthTimeoutSchema,
  instanceIdSchema,
  ipAddressSchema,
  localitySchema,
  metadataSchema,
  portSchema,
  prioritySchema,
  readerRejection,
  serviceNameSchema,
  weightSchema,
} from './record.js';

const probeTimingSchema = {
  intervalMs: healthIntervalSchema.default(5_000),
  timeoutMs: healthTimeoutSchema.default(1_000),
};

const probeSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('tcp'), ...probeTimingSchema }),
  z.strictObject({
    type: z.literal('http'),
    path: z.string().startsWith('/', 'path must start with /').default('/'),
    /** Exact status expected; any 2xx when absent. */
    expectedStatus: z.number().int().min(100).max(599).optional(),
    ...probeTimingSchema,
  }),
]);

const registrarInstanceSchema = z.strictObject({
  service: serviceNameSchema,
  address: ipAddressSchema,
  port: portSchema,
  instanceId: instanceIdSchema.optional(),
  weight: weightSchema.optional(),
  priority: prioritySchema.optional(),
  locality: localitySchema.optional(),
  metadata: metadataSchema.optional(),
  probe: probeSchema,
  removeAfterSeconds: z.number().positive('removeAfterSeconds must be > 0').max(MAX_HEALTH_TIMING_MS / 1000).default(60),
});

const registrarConfigSchema = z.strictObject({
  ttlSeconds: z.number().int().min(1).default(10),
  instances: z.array(registrarInstanceSchema).min(1, 'list at least one instance'),
});

export type ProbeSpec = z.infer<typeof probeSchema>;
export type RegistrarInstanceSpec = z.infer<typeof registrarInstanceSchema> & { instanceId: string };
export interface RegistrarConfig {
  ttlSeconds: number;
  instances: RegistrarInstanceSpec[];
}

/** Validates an already-parsed document; `source` names it in error messages. */
export function parseRegistrarConfig(document: unknown, source = 'config'): RegistrarConfig {
  const parsed = registrarConfigSchema.safeParse(document);
  if (!parsed.success) throw new Error(`${source}: ${describeIssues(parsed.error)}`);
  const seen = new Map<string, number>();
  const instances = parsed.data.instances.map((instance, index) => {
    // The registrar's own host is not the instance's, so the default id is address-port (unique per service).
    const instanceId = instance.instanceId ?? `${instance.address}-${instance.port}`;
    const identity = `${instance.service}/${instanceId}`;
    const earlier = seen.get(identity);
    if (earlier !== undefined) {
      throw new Error(`${source}: instances[${index}]: duplicate of instances[${earlier}] (${identity})`);
    }
    seen.set(identity, index);
    // The prefix is not known here; the reader's verdict on the record does not depend on it.
    const rejection = readerRejection('/services/', instance.service, instanceId, buildRecord(instance));
    if (rejection) throw new Error(`${source}: instances[${index}]: the control plane would reject this instance: ${rejection}`);
    return { ...instance, instanceId };
  });
  return { ttlSeconds: parsed.data.ttlSeconds, instances };
}

export async function loadRegistrarConfig(file: string): Promise<RegistrarConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read: ${(err as Error).message}`);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (err) {
    throw new Error(`${file}: invalid YAML: ${(err as Error).message}`);
  }
  return parseRegistrarConfig(document, file);
}
