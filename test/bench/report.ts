// The one table the bench prints, the JSON it writes, and how to profile a MISS.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { summarizeProfile } from './profile-summary.js';
import { PROFILE_DIR, REPO_ROOT, profiling } from './serve-child.js';

export interface Row {
  /** Scenario letter and a short name, with the sizes it ran at. */
  scenario: string;
  /** What was measured, with the floor it is compared against. */
  figure: string;
  /** The target, spelled out with the limit it works out to in this run. */
  target: string;
  pass: boolean;
  /** The row's figure and its limit as numbers (ms, bytes or cores, as the texts say), for the JSON. */
  value?: number;
  limit?: number;
}

export class Report {
  readonly rows: Row[] = [];
  readonly scenarios: Record<string, unknown> = {};

  add(row: Row): void {
    this.rows.push(row);
  }

  /** Rows of a scenario that could not run: MISS, with the reason. */
  failed(scenario: string, targets: string[], err: unknown): void {
    const reason = (err as Error).message?.split('\n')[0] ?? String(err);
    for (const target of targets) this.add({ scenario, figure: `did not finish: ${reason}`, target, pass: false });
  }

  /** A scenario the run never reached still gets its row: MISS, "did not run". */
  ensure(scenarios: Record<string, string>): void {
    for (const [letter, target] of Object.entries(scenarios)) {
      if (!this.rows.some((r) => r.scenario.startsWith(`${letter}.`))) {
        this.add({ scenario: `${letter}. (not reached)`, figure: 'did not run: the bench stopped before it (see the error above)', target, pass: false });
      }
    }
  }

  print(): void {
    // Rows in scenario order (a, b, ...), whatever order the scenarios ran in.
    this.rows.sort((x, y) => x.scenario.charCodeAt(0) - y.scenario.charCodeAt(0));
    const header = { scenario: 'scenario', figure: 'figure', target: 'target', result: 'result' };
    const lines = [header, ...this.rows.map((r) => ({ scenario: r.scenario, figure: r.figure, target: r.target, result: r.pass ? 'PASS' : 'MISS' }))];
    const width = (key: keyof typeof header) => Math.max(...lines.map((l) => l[key].length));
    const widths = { scenario: width('scenario'), figure: width('figure'), target: width('target') };
    const format = (l: typeof header) => `${l.scenario.padEnd(widths.scenario)} | ${l.figure.padEnd(widths.figure)} | ${l.target.padEnd(widths.target)} | ${l.result}`;
    const rule = '-'.repeat(widths.scenario + widths.figure + widths.target + 16);
    console.log(`\n${rule}\n${format(header)}\n${rule}`);
    for (const line of lines.slice(1)) console.log(format(line));
    console.log(rule);
    const misses = this.rows.filter((r) => !r.pass).length;
    console.log(`${this.rows.length - misses} PASS, ${misses} MISS`);
    if (misses > 0) {
      console.log(
        profiling
          ? `Profiles of every etcd-xds child are in ${path.relative(REPO_ROOT, PROFILE_DIR)}/ (open a .cpuprofile in Chrome DevTools › Performance, or speedscope); their heaviest functions follow.`
          : `To see where the server's time goes on a MISS: BENCH_PROFILE=1 npm run bench${process.argv.includes('--quick') ? ' -- --quick' : ''}\n` +
              `  (the etcd-xds children then run under node --cpu-prof, one directory each in ${path.relative(REPO_ROOT, PROFILE_DIR)}/; the bench prints their heaviest functions)`,
      );
    }
  }

  /** With BENCH_PROFILE=1: the heaviest functions of each control-plane child profiled in this run. */
  printProfiles(since: number): void {
    if (!profiling) return;
    let dirs: string[] = [];
    try {
      dirs = readdirSync(PROFILE_DIR).filter((d) => d.startsWith('serve-'));
    } catch {
      return;
    }
    for (const dir of dirs.sort()) {
      if (Number(/-(\d+)$/.exec(dir)?.[1] ?? 0) < since) continue;
      const profiles = readdirSync(path.join(PROFILE_DIR, dir)).filter((f) => f.endsWith('.cpuprofile'));
      // The main thread's profile is the busiest; the others are tsx's module loader.
      const summaries = profiles.map((f) => summarizeProfile(path.join(PROFILE_DIR, dir, f))).sort((a, b) => b.busyUs - a.busyUs);
      if (!summaries[0]) continue;
      console.log(`\n${path.relative(REPO_ROOT, path.join(PROFILE_DIR, dir, summaries[0].file))}:`);
      console.log(summaries[0].text);
    }
  }

  write(meta: Record<string, unknown>): string {
    const file = path.join(REPO_ROOT, 'test-artifacts', 'bench.json');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify({ ...meta, rows: this.rows, scenarios: this.scenarios }, null, 2)}\n`);
    return path.relative(REPO_ROOT, file);
  }
}
