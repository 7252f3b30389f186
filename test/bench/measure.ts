// Numbers from outside a process (/proc) and the statistics the rows are made of.
import { readFileSync, readdirSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = 100; // Linux USER_HZ: /proc/<pid>/stat counts CPU time in these ticks.

/** CPU time (user + system) a process has used so far, in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Time the process's main thread (its event loop) spent runnable but waiting for a CPU, in ms. */
export function runQueueWaitMs(pid: number): number {
  const [, waitNs] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
  return (waitNs ?? 0) / 1e6;
}

/** Resident set size of a process, in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const median = (values: readonly number[]) => percentile(values, 50);

/** Least-squares slope of y over x. */
export function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export function ms(value: number): string {
  if (Number.isNaN(value)) return 'n/a';
  if (!Number.isFinite(value)) return '∞';
  return `${value.toFixed(value < 10 ? 2 : value < 1_000 ? 1 : 0)} ms`;
}
export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
export const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
export const count = (n: number) => n.toLocaleString('en-US');
/** 100,000 → 100k, 2,500 → 2.5k; smaller numbers as they are. */
export const short = (n: number) => (n >= 1_000 && n % 100 === 0 ? `${n / 1_000}k` : count(n));

/** Direct children of this process whose command name is `name` (e.g. the etcd the test support spawned). */
export function childPidsNamed(name: string): number[] {
  const pids: number[] = [];
  for (const task of readdirSync('/proc/self/task')) {
    for (const pid of readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)) {
      try {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name) pids.push(pid);
      } catch {
        // Gone meanwhile.
      }
    }
  }
  return pids;
}

/** The 1-minute load average: how busy the machine was around a figure. */
export function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}
