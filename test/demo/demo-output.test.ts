// The demo's printed story: per-second spread lines (and reading them back), the scripted timeline, and the
// sentences describing what changed in etcd.
import { describe, expect, it } from 'vitest';
import { CallTally, formatSpreadLine, parseSpreadLine } from '../../src/demo/call-tally.js';
import { scriptedTimeline } from '../../src/demo/demo-controls.js';
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
  it('drains at a third, kills at two thirds and ends at the duration', () => {
    expect(scriptedTimeline(9)).toEqual([
      { atSeconds: 3, move: 'drain' },
      { atSeconds: 6, move: 'kill' },
      { atSeconds: 9, move: 'quit' },
    ]);
  });

  it('leaves out moves that would not fit a short run', () => {
    expect(scriptedTimeline(3)).toEqual([
      { atSeconds: 2, move: 'drain' },
      { atSeconds: 3, move: 'quit' },
    ]);
    expect(scriptedTimeline(1)).toEqual([{ atSeconds: 1, move: 'quit' }]);
  });

  it('without a duration, drains at 10 s and kills at 20 s and never ends by itself', () => {
    expect(scriptedTimeline(undefined).map((s) => s.move)).toEqual(['drain', 'kill']);
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
