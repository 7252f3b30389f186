// Follows one service's ClusterLoadAssignment over a raw ADS stream, ACKing every response and keeping the whole
// sequence of assignments with their arrival times, so end-to-end tests can assert on what a proxy was told and when.
import { TYPE_URL } from '../../src/snapshot/types.js';
import { AdsTestStream, NODE, type ReceivedResponse } from './ads-client.js';

export interface ObservedEndpoint {
  address: string;
  port: number;
  /** Envoy health_status name; UNKNOWN when the field is absent. */
  health: string;
}

export interface ObservedAssignment {
  /** Date.now() when the response arrived. */
  at: number;
  version: string;
  /** False when the response did not hold the service's assignment at all. */
  present: boolean;
  endpoints: ObservedEndpoint[];
}

interface LbEndpointJson {
  health_status?: string;
  endpoint?: { address?: { socket_address?: { address?: string; port_value?: number } } };
}

/** The endpoints of a ClusterLoadAssignment decoded with Envoy's field names (as the ADS client and admin API give it). */
export function endpointsOf(assignment: Record<string, unknown>): ObservedEndpoint[] {
  const localities = (assignment.endpoints as Array<{ lb_endpoints?: LbEndpointJson[] }> | undefined) ?? [];
  return localities.flatMap((locality) =>
    (locality.lb_endpoints ?? []).map((e) => ({
      address: e.endpoint?.address?.socket_address?.address ?? '',
      port: e.endpoint?.address?.socket_address?.port_value ?? 0,
      health: e.health_status ?? 'UNKNOWN',
    })),
  );
}

function assignmentOf(response: ReceivedResponse, service: string): ObservedAssignment {
  const resource = response.resources.find((r) => r.name === service);
  const endpoints = resource ? endpointsOf(resource.message) : [];
  return { at: Date.now(), version: response.version, present: resource !== undefined, endpoints };
}

/** Health of the endpoint on `port` in an assignment; undefined when the assignment does not list it. */
export function healthOf(assignment: ObservedAssignment, port: number): string | undefined {
  return assignment.endpoints.find((e) => e.port === port)?.health;
}

export class EdsWatch {
  /** Every assignment received, oldest first. */
  readonly history: ObservedAssignment[] = [];
  private readonly stream: AdsTestStream;
  private readonly listeners = new Set<() => void>();
  private closed = false;

  constructor(xdsAddress: string, readonly service: string, nodeId = `eds-watch-${service}`) {
    this.stream = new AdsTestStream(xdsAddress, 'sotw');
    this.stream.send({ node: { ...NODE, id: nodeId }, type_url: TYPE_URL.endpoint, resource_names: [service] });
    void this.pump();
  }

  private async pump(): Promise<void> {
    while (!this.closed && !this.stream.ended) {
      let response: ReceivedResponse;
      try {
        response = await this.stream.next(1_000);
      } catch {
        continue; // nothing within a second: keep listening
      }
      this.stream.send({
        type_url: TYPE_URL.endpoint,
        resource_names: [this.service],
        response_nonce: response.nonce,
        version_info: response.version,
      });
      this.history.push(assignmentOf(response, this.service));
      for (const listener of [...this.listeners]) listener();
    }
  }

  latest(): ObservedAssignment | undefined {
    return this.history[this.history.length - 1];
  }

  /**
   * The first assignment at index ≥ `from` that satisfies `accept`, waiting for new ones up to `timeoutMs`.
   * Fails with the assignments seen, so a wrong sequence is visible in the test output.
   */
  waitFor(
    accept: (assignment: ObservedAssignment) => boolean,
    what: string,
    options: { from?: number; timeoutMs?: number } = {},
  ): Promise<{ index: number; assignment: ObservedAssignment }> {
    const from = options.from ?? 0;
    const timeoutMs = options.timeoutMs ?? 10_000;
    const search = (): { index: number; assignment: ObservedAssignment } | undefined => {
      for (let index = from; index < this.history.length; index++) {
        const assignment = this.history[index]!;
        if (accept(assignment)) return { index, assignment };
      }
      return undefined;
    };
    const found = search();
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = search();
        if (!hit) return;
        this.listeners.delete(check);
        clearTimeout(timer);
        resolve(hit);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        const seen = this.history.slice(from).map((a) => a.endpoints.map((e) => `${e.port}:${e.health}`).join(',') || '(empty)');
        reject(new Error(`no EDS assignment of ${this.service} with ${what} within ${timeoutMs} ms; seen: [${seen.join(' | ')}]`));
      }, timeoutMs);
      this.listeners.add(check);
    });
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
    this.stream.close();
  }
}
