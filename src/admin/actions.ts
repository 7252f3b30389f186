// POST /actions/drain and /actions/deregister: operator-driven drain, behind the same guard as the rest of the
// admin API. The etcd side lives elsewhere and comes in as AdminActions; without it the endpoints answer 501.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { BadRequest, type RequestTarget } from './request-target.js';
import { sendError, sendJson } from './respond.js';

export interface AdminActions {
  /** Marks the registration draining (weight 0) in etcd, keeping its lease. */
  drain(service: string, instanceId: string): Promise<void>;
  /** Deletes the registration; with afterDrainSeconds, drains first and deletes after that long. */
  deregister(service: string, instanceId: string, afterDrainSeconds?: number): Promise<void>;
}

/** Thrown by an AdminActions implementation for an outcome the operator caused (unknown instance: 404). */
export class ActionRefused extends Error {
  constructor(
    readonly status: 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Without a token, an action needs this header: a browser on another origin cannot add it without a CORS
 * preflight, which the admin API never grants, so a web page cannot drain an instance through a loopback listener.
 */
export const ACTION_HEADER = 'x-etcd-xds-action';

const MAX_BODY_BYTES = 16 * 1024;
const MAX_NAME_LENGTH = 1024;
const MAX_AFTER_DRAIN_SECONDS = 86_400;

export interface ActionRequest {
  service: string;
  instance: string;
  afterDrainSeconds?: number;
}

async function readBody(request: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BadRequest(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw new BadRequest(`"${field}" is required`);
  if (value.length > MAX_NAME_LENGTH) throw new BadRequest(`"${field}" is longer than ${MAX_NAME_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new BadRequest(`"${field}" contains control characters`);
  return value;
}

/** The action's arguments from a JSON body, or from the query when there is no body. */
export async function readActionRequest(request: IncomingMessage, target: RequestTarget): Promise<ActionRequest> {
  const body = await readBody(request);
  let fields: Record<string, unknown>;
  if (body.trim() === '') {
    fields = Object.fromEntries(target.query);
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new BadRequest('the body must be a JSON object: {"service": "...", "instance": "..."}');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new BadRequest('the body must be a JSON object');
    fields = parsed as Record<string, unknown>;
  }
  const service = text(fields.service, 'service');
  if (service.includes('/')) throw new BadRequest('"service" cannot contain "/"');
  const instance = text(fields.instance, 'instance');
  const rawAfter = fields.afterDrainSeconds;
  if (rawAfter === undefined || rawAfter === '') return { service, instance };
  const afterDrainSeconds = typeof rawAfter === 'string' ? Number(rawAfter) : rawAfter;
  if (typeof afterDrainSeconds !== 'number' || !Number.isFinite(afterDrainSeconds) || afterDrainSeconds < 0 || afterDrainSeconds > MAX_AFTER_DRAIN_SECONDS) {
    throw new BadRequest(`"afterDrainSeconds" must be a number from 0 to ${MAX_AFTER_DRAIN_SECONDS}`);
  }
  return { service, instance, afterDrainSeconds };
}

export type ActionName = 'drain' | 'deregister';

export async function runAction(
  name: ActionName,
  actions: AdminActions | undefined,
  request: IncomingMessage,
  response: ServerResponse,
  target: RequestTarget,
  logger: Logger,
): Promise<void> {
  if (!actions) return sendError(response, 501, `this server does not offer ${name} through the admin API`);
  const args = await readActionRequest(request, target);
  try {
    if (name === 'drain') await actions.drain(args.service, args.instance);
    else await actions.deregister(args.service, args.instance, args.afterDrainSeconds);
  } catch (err) {
    if (err instanceof ActionRefused) return sendError(response, err.status, err.message);
    throw err;
  }
  logger.info({ action: name, service: args.service, instance: args.instance, afterDrainSeconds: args.afterDrainSeconds }, 'admin action done');
  sendJson(response, 200, { ok: true, action: name, ...args });
}
