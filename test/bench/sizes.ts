// What each scenario runs at: the fleet-scale sizes of the issue, and a quick version that finishes in under two
// minutes and still exercises every row.
export interface Sizes {
  small: { services: number; perService: number };
  big: { services: number; perService: number };
  latencyRounds: number;
  cold: { empty: number; full: number; floor: number };
  watchRounds: number;
  fan: { streams: number; connections: number; smallRounds: number; largeEndpoints: number; largeRounds: number };
  churn: { seconds: number; rate: number; streams: number; servicesPerStream: number; connections: number; drainSeconds: number };
  idle: { streams: number; connections: number };
  adminRepeats: number;
  configFollowRounds: number;
}

export const FULL: Sizes = {
  small: { services: 10, perService: 10 },
  big: { services: 10_000, perService: 10 },
  latencyRounds: 30,
  cold: { empty: 2, full: 2, floor: 3 },
  watchRounds: 100,
  fan: { streams: 1_000, connections: 20, smallRounds: 20, largeEndpoints: 10_000, largeRounds: 5 },
  churn: { seconds: 60, rate: 900, streams: 1_000, servicesPerStream: 10, connections: 20, drainSeconds: 10 },
  idle: { streams: 5_000, connections: 20 },
  adminRepeats: 3,
  configFollowRounds: 20,
};

export const QUICK: Sizes = {
  small: { services: 10, perService: 10 },
  big: { services: 1_000, perService: 10 },
  latencyRounds: 10,
  cold: { empty: 1, full: 1, floor: 1 },
  watchRounds: 30,
  fan: { streams: 200, connections: 10, smallRounds: 6, largeEndpoints: 2_000, largeRounds: 3 },
  churn: { seconds: 8, rate: 300, streams: 100, servicesPerStream: 10, connections: 10, drainSeconds: 3 },
  // Fewer streams and the steps drown in each server's own RSS jitter (a few MB as its heap is collected): at 600,
  // the bare server's slope ranged from 0 to 16 KiB a stream between runs of the same code.
  idle: { streams: 2_000, connections: 10 },
  adminRepeats: 1,
  configFollowRounds: 6,
};
