// A three-member etcd cluster on loopback for fault tests: three `etcd` processes on free ports with their own data
// dirs, joined through --initial-cluster. Members can be killed (SIGKILL, like a crash) and restarted with their
// data, and the cluster names its current leader from etcd's own maintenance status.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Etcd3 } from 'etcd3';
import { etcdAnswers, freeLoopbackPort } from '../../src/demo/local-etcd.js';
import { createEtcdClient } from '../../src/registry/etcd-client.js';

export interface ClusterMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  /** True while its process runs. */
  readonly running: boolean;
}

class Member implements ClusterMember {
  child: ChildProcess | undefined;
  output = '';
  constructor(
    readonly name: string,
    readonly clientUrl: string,
    readonly peerUrl: string,
    readonly dataDir: string,
  ) {}
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }
}

export function hasEtcdBinary(binary = 'etcd'): boolean {
  return spawnSync(binary, ['--version'], { stdio: 'ignore' }).status === 0;
}

export class EtcdCluster {
  private constructor(
    private readonly binary: string,
    private readonly token: string,
    private readonly list: Member[],
  ) {}

  /** Creates (does not start) `size` members on free loopback ports. */
  static async create(options: { size?: number; binary?: string } = {}): Promise<EtcdCluster> {
    const size = options.size ?? 3;
    const members: Member[] = [];
    for (let i = 0; i < size; i++) {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), `etcd-xds-cluster-m${i}-`));
      const client = `http://127.0.0.1:${await freeLoopbackPort()}`;
      const peer = `http://127.0.0.1:${await freeLoopbackPort()}`;
      members.push(new Member(`m${i}`, client, peer, dataDir));
    }
    return new EtcdCluster(options.binary ?? 'etcd', `etcd-xds-test-${process.pid}-${Date.now()}`, members);
  }

  get members(): readonly ClusterMember[] {
    return this.list;
  }

  get endpoints(): string[] {
    return this.list.map((m) => m.clientUrl);
  }

  private get initialCluster(): string {
    return this.list.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  }

  private member(name: string): Member {
    const member = this.list.find((m) => m.name === name);
    if (!member) throw new Error(`no cluster member named ${name}`);
    return member;
  }

  private spawnMember(member: Member): void {
    member.output = '';
    const child = spawn(
      this.binary,
      [
        '--name', member.name,
        '--data-dir', member.dataDir,
        '--listen-client-urls', member.clientUrl,
        '--advertise-client-urls', member.clientUrl,
        '--listen-peer-urls', member.peerUrl,
        '--initial-advertise-peer-urls', member.peerUrl,
        '--initial-cluster', this.initialCluster,
        '--initial-cluster-token', this.token,
        '--initial-cluster-state', 'new',
        // Loopback: short heartbeats make elections after a kill take well under a second.
        '--heartbeat-interval', '50',
        '--election-timeout', '500',
        '--log-level', 'error',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (d: Buffer): void => void (member.output = (member.output + d.toString()).slice(-4000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    member.child = child;
  }

  private async waitHealthy(members: Member[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const member of members) {
      // etcd's /health answers 200 only once the member sees a leader.
      while (!(await etcdAnswers([member.clientUrl], 500))) {
        if (!member.running || Date.now() > deadline) {
          throw new Error(`etcd member ${member.name} did not become healthy at ${member.clientUrl}:\n${member.output.trim()}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** Starts every member (they elect a leader together) and waits until all answer /health. */
  async start(timeoutMs = 20_000): Promise<void> {
    for (const member of this.list) if (!member.running) this.spawnMember(member);
    try {
      await this.waitHealthy(this.list, timeoutMs);
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** Kills one member with SIGKILL (a crash), keeping its data and ports. */
  async kill(name: string): Promise<void> {
    const member = this.member(name);
    const child = member.child;
    member.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** Restarts a killed member with its data; waits until it answers /health again. */
  async restart(name: string, timeoutMs = 20_000): Promise<void> {
    const member = this.member(name);
    if (!member.running) this.spawnMember(member);
    await this.waitHealthy([member], timeoutMs);
  }

  /** A client of one member only (no fail-over), for status queries. */
  private async statusOf(member: Member): Promise<{ memberId: string; leader: string } | undefined> {
    const client = createEtcdClient([member.clientUrl], { dialTimeout: 1_000 });
    try {
      const status = await client.maintenance.status({ deadline: new Date(Date.now() + 1_500) });
      return { memberId: String(status.header.member_id), leader: String(status.leader) };
    } catch {
      return undefined;
    } finally {
      client.close();
    }
  }

  /**
   * The running member that is the leader, asked of each running member's maintenance status; waits for an
   * election that is in progress. Fails after timeoutMs.
   */
  async leader(timeoutMs = 10_000): Promise<ClusterMember> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const running = this.list.filter((m) => m.running);
      const statuses = await Promise.all(running.map(async (m) => ({ member: m, status: await this.statusOf(m) })));
      for (const { member, status } of statuses) {
        if (status && status.leader !== '0' && status.leader === status.memberId) return member;
      }
      if (Date.now() > deadline) throw new Error(`no etcd leader among ${running.map((m) => m.name).join(', ')} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** How many watchers a running member serves (etcd's own gauge), so a test can tell where a watch landed. */
  async watchersOn(member: ClusterMember): Promise<number> {
    const response = await fetch(`${member.clientUrl}/metrics`, { signal: AbortSignal.timeout(2_000) });
    const text = await response.text();
    const line = /^etcd_debugging_mvcc_watcher_total\s+(\S+)$/m.exec(text);
    return line ? Number(line[1]) : 0;
  }

  /** The running member serving watchers (one watching client in the test), or undefined while none does. */
  async watchMember(): Promise<ClusterMember | undefined> {
    for (const member of this.list.filter((m) => m.running)) {
      if ((await this.watchersOn(member).catch(() => 0)) > 0) return member;
    }
    return undefined;
  }

  /** Hands leadership to `target` (etcd's MoveLeader, sent to the current leader) and waits until it leads. */
  async moveLeaderTo(target: ClusterMember, timeoutMs = 10_000): Promise<void> {
    const leader = await this.leader(timeoutMs);
    if (leader.name === target.name) return;
    const status = await this.statusOf(this.member(target.name));
    if (!status) throw new Error(`etcd member ${target.name} does not answer its status`);
    const client = createEtcdClient([leader.clientUrl]);
    try {
      await client.maintenance.moveLeader({ targetID: status.memberId }, { deadline: new Date(Date.now() + timeoutMs) });
    } finally {
      client.close();
    }
    const now = await this.leader(timeoutMs);
    if (now.name !== target.name) throw new Error(`leadership went to ${now.name}, not ${target.name}`);
  }

  /** A client over every member (fails over like the control plane's). */
  client(): Etcd3 {
    return createEtcdClient(this.endpoints);
  }

  /** Kills every member and removes their data. */
  async close(): Promise<void> {
    for (const member of this.list) await this.kill(member.name);
    for (const member of this.list) rmSync(member.dataDir, { recursive: true, force: true });
  }
}
