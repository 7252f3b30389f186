// The demo's printed story: per-second spread lines (and reading them back), the scripted timeline, the shipped
// canary file as the demo reads it, the commands it shows, and the sentences describing what changed in etcd.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readConfigDocuments } from '../../src/config/documents.js';
import { CallTally, formatSpreadLine, parseSpreadLine } from '../../src/demo/call-tally.js';
import { CANARY_FILE, describeSplit, readCanaryPlan } from '../../src/demo/canary.js';
import { commandLine } from '../../src/demo/cli-command.js';
import { scriptedTimeline } from '../../src/demo/demo-controls.js';
import { DEMO_SERVICE } from '../../src/demo/demo-steps.js';
import { CANARY_VERSION, STABLE_VERSION, VERSION_KEY } from '../../src/demo/greeter-fleet.js';
import { describeStateChanges } from '../../src/demo/registry-story.js';

describe('spread lines', () => {
  it('lists every known instance in a fixed order with a bar of its share, and reads back', () => {
    const tally = new CallTally();
    for (let i = 0; i < 30; i++) tally.answered('greeter-1');
    for (let i = 0; i < 10; i++) tally.answered('greeter-2');
    tally.failed('UNAVAILABLE: no healthy upstream');
    const line = formatSpreadLine(7, ['greeter-1', 'greeter-2', 'greeter-3'], tally.take());
    expect(line).toBe(
      '[  7s] calls/s: greeter-1 █████████░░░  30 | greeter-2 ███░░░░░░░░░  10 | greeter-3 ░░░░░░░░░░░░   0 | ' +
        'errors 1 (UNAVAILABLE: no healthy upstream)',
    );
    expect(parseSpreadLine(line)).toEqual({ counts: { 'greeter-1': 30, 'greeter-2': 10, 'greeter-3': 0 }, errors: 1 });
    expect(parseSpreadLine('[  7s] >> draining greeter-3')).toBeUndefined();
  });

  it('starts a fresh window on each take and remembers every instance that ever answered', () => {
    const tally = new CallTally();
    tally.answered('b');
    tally.answered('a');
    tally.take();
    expect(tally.take()).toEqual({ counts: new Map(), errors: 0 });
    expect(tally.instances()).toEqual(['b', 'a']);
  });
});

describe('scripted timeline', () => {
  it('applies the canary at a sixth, rolls it back at half, drains at two thirds, kills at five sixths, ends at the duration', () => {
    expect(scriptedTimeline(14)).toEqual([
      { atSeconds: 2, move: 'canary', afterPreviousSeconds: 0 },
      { atSeconds: 7, move: 'rollback', afterPreviousSeconds: 3 },
      { atSeconds: 9, move: 'drain', afterPreviousSeconds: 1 },
      { atSeconds: 12, move: 'kill', afterPreviousSeconds: 1 },
      { atSeconds: 14, move: 'quit', afterPreviousSeconds: 0 },
    ]);
  });

  it('leaves out moves that would not fit a short run', () => {
    expect(scriptedTimeline(9).map((s) => `${s.move}@${s.atSeconds}`)).toEqual(['canary@2', 'rollback@6', 'drain@8', 'quit@9']);
    expect(scriptedTimeline(3).map((s) => `${s.move}@${s.atSeconds}`)).toEqual(['canary@2', 'quit@3']);
    expect(scriptedTimeline(1).map((s) => `${s.move}@${s.atSeconds}`)).toEqual(['quit@1']);
  });

  it('without a duration, makes a move every 8 s and never ends by itself', () => {
    expect(scriptedTimeline(undefined).map((s) => `${s.move}@${s.atSeconds}`)).toEqual(['canary@8', 'rollback@16', 'drain@24', 'kill@32']);
  });
});

describe('the canary file', () => {
  it("splits the demo service 90/10 between the fleet's stable and canary versions", () => {
    const plan = readCanaryPlan(CANARY_FILE, DEMO_SERVICE);
    expect(plan).toEqual({
      service: DEMO_SERVICE,
      key: VERSION_KEY,
      split: [
        { value: STABLE_VERSION, percent: 90 },
        { value: CANARY_VERSION, percent: 10 },
      ],
    });
    expect(describeSplit(plan)).toBe('90% version=v1, 10% version=v2');
  });

  it('is what docs/demo.md shows', () => {
    const doc = readFileSync(path.resolve(import.meta.dirname, '../../docs/demo.md'), 'utf8');
    const shown = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((block) => block.includes(`name: ${DEMO_SERVICE}`));
    expect(shown).toBeDefined();
    const strip = (text: string) => {
      const read = readConfigDocuments(text);
      if (!read.ok) throw new Error(JSON.stringify(read.errors));
      return read.documents.map(({ kind, name, spec }) => ({ kind, name, spec }));
    };
    expect(strip(shown!)).toEqual(strip(readFileSync(CANARY_FILE, 'utf8')));
  });

  it('is refused, naming the file, when it holds no split for the service', () => {
    expect(() => readCanaryPlan(CANARY_FILE, 'another-service')).toThrow(/canary\.yaml: no ServicePolicy another-service with subsets/);
  });
});

describe('commands the demo shows', () => {
  it('are printed as a shell reads them back', () => {
    const cli = { display: 'node bin/etcd-xds.js', argv: [] };
    expect(commandLine(cli, ['config', 'apply', '-f', 'my canary.yaml', '--etcd-endpoints', 'http://127.0.0.1:2379'])).toBe(
      "node bin/etcd-xds.js config apply -f 'my canary.yaml' --etcd-endpoints http://127.0.0.1:2379",
    );
    expect(commandLine(cli, ["it's"])).toBe(`node bin/etcd-xds.js 'it'\\''s'`);
  });
});

describe('etcd change sentences', () => {
  it('names registrations, status changes and removals in instance order', () => {
    const before = new Map([
      ['greeter-1', 'serving' as const],
      ['greeter-2', 'serving' as const],
      ['greeter-3', 'serving' as const],
    ]);
    const after = new Map([
      ['greeter-1', 'serving' as const],
      ['greeter-3', 'draining' as const],
      ['greeter-4', 'serving' as const],
    ]);
    expect(describeStateChanges(before, after)).toEqual([
      'greeter-2 removed from etcd',
      'greeter-3 serving → draining',
      'greeter-4 registered (serving)',
    ]);
    expect(describeStateChanges(after, after)).toEqual([]);
  });
});
