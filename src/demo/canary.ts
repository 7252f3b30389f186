// The demo's canary: demo/canary.yaml, a ServicePolicy that splits the demo service's calls between the instances
// registered with version=v1 and those with version=v2. The demo applies it and rolls it back with the real
// `etcd-xds config` commands, run as a user runs them and shown as typed, so what the story says is what was run.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { formatDocumentError, readConfigDocuments } from '../config/documents.js';
import { DEFAULT_CONFIG_PREFIX } from '../config/config-watch.js';
import type { ServicePolicy } from '../config/types.js';
import { commandLine, runCli, type CliCommand } from './cli-command.js';

/** Shipped beside the package's bin/ and dist/ (package.json "files"). */
export const CANARY_FILE = path.resolve(import.meta.dirname, '../../demo/canary.yaml');

export interface CanaryPlan {
  service: string;
  /** The registration metadata key the split is on, e.g. `version`. */
  key: string;
  /** Each value's share of the calls, in percent (weights over their sum, as clients divide them). */
  split: { value: string; percent: number }[];
}

/** A service policy's subset split, or undefined when it has none. */
export function splitOf(service: string, policy: ServicePolicy | undefined): CanaryPlan | undefined {
  const subsets = policy?.subsets;
  if (!subsets?.key || !subsets.split?.length) return undefined;
  const sum = subsets.split.reduce((total, s) => total + (s.weight ?? 0), 0);
  return {
    service,
    key: subsets.key,
    split: subsets.split.map((s) => ({ value: s.value!, percent: sum === 0 ? 0 : (100 * (s.weight ?? 0)) / sum })),
  };
}

/** The demo service's split in a canary file; throws naming the file when it holds none or does not validate. */
export function readCanaryPlan(file: string, service: string): CanaryPlan {
  const result = readConfigDocuments(readFileSync(file, 'utf8'));
  if (!result.ok) throw new Error(`${file}: ${result.errors.map(formatDocumentError).join('; ')}`);
  const policy = result.documents.find((d) => d.kind === 'ServicePolicy' && d.name === service)?.parsed as ServicePolicy | undefined;
  const plan = splitOf(service, policy);
  if (!plan) throw new Error(`${file}: no ServicePolicy ${service} with subsets.key and subsets.split`);
  return plan;
}

/** `90% version=v1, 10% version=v2` */
export function describeSplit(plan: CanaryPlan): string {
  return plan.split.map((s) => `${formatPercent(s.percent)} ${plan.key}=${s.value}`).join(', ');
}

export function formatPercent(percent: number): string {
  return `${Number.isInteger(percent) ? percent : percent.toFixed(1)}%`;
}

export interface CanaryCommandsOptions {
  cli: CliCommand;
  /** The canary file as it is shown and passed: relative to the current directory when it lies below it. */
  file: string;
  service: string;
  etcdEndpoint: string;
  configPrefix: string;
  say(line: string): void;
}

/**
 * Applies and deletes the canary policy through the CLI, one command at a time, and remembers whether it is in
 * etcd, so the demo's clean-up removes a policy it left there.
 */
export class CanaryCommands {
  private queue: Promise<unknown> = Promise.resolve();
  /** Whether the last command this demo ran left the policy in etcd. */
  private inEtcd = false;

  constructor(private readonly options: CanaryCommandsOptions) {}

  /** `etcd-xds config apply -f <file> …`; resolves true once it is in etcd. */
  apply(): Promise<boolean> {
    return this.run(['config', 'apply', '-f', this.options.file, ...this.etcdFlags()], true);
  }

  /** `etcd-xds config delete ServicePolicy <service> …`; resolves true once it is gone. */
  rollback(): Promise<boolean> {
    return this.run(['config', 'delete', 'ServicePolicy', this.options.service, ...this.etcdFlags()], false);
  }

  /** After the commands already started: deletes the policy when the last of them left it in etcd. */
  async removeLeftover(): Promise<boolean> {
    await this.queue;
    return this.inEtcd ? this.rollback() : false;
  }

  private etcdFlags(): string[] {
    const prefix = this.options.configPrefix === DEFAULT_CONFIG_PREFIX ? [] : ['--config-prefix', this.options.configPrefix];
    return ['--etcd-endpoints', this.options.etcdEndpoint, ...prefix];
  }

  private run(args: string[], applies: boolean): Promise<boolean> {
    const { say, cli } = this.options;
    const next = this.queue.then(async () => {
      say(`   $ ${commandLine(cli, args)}`);
      const run = await runCli(cli, args);
      for (const line of run.output.split('\n').filter(Boolean)) say(`   ${line}`);
      if (run.code !== 0) {
        say(`   (the command exited ${run.code ?? 'on a signal'})`);
        return false;
      }
      this.inEtcd = applies;
      return true;
    });
    this.queue = next;
    return next;
  }
}
