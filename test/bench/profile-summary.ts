// The heaviest functions of a V8 .cpuprofile by self time, so a MISS comes with where the time went.
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export function summarizeProfile(file: string, top = 15): { file: string; busyUs: number; text: string } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const frameOf = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const selfUs = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    const frame = frameOf.get(id);
    if (!frame) return;
    if (frame.functionName === '(idle)') {
      idleUs += delta;
      return;
    }
    totalUs += delta;
    // Line numbers of tsx-transpiled files point into the generated code: keep them for plain JS only.
    const file = frame.url ? path.relative(process.cwd(), frame.url.replace(/^file:\/\//, '')) : '';
    const where = file && (file.endsWith('.ts') ? file : `${file}:${frame.lineNumber + 1}`);
    const key = `${frame.functionName || '(anonymous)'} ${where}`.trim();
    selfUs.set(key, (selfUs.get(key) ?? 0) + delta);
  });
  const lines = [...selfUs.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => `  ${(us / 1000).toFixed(0).padStart(8)} ms  ${((us / Math.max(1, totalUs)) * 100).toFixed(1).padStart(5)}%  ${name}`);
  const text = [`  busy ${(totalUs / 1e6).toFixed(1)} s, idle ${(idleUs / 1e6).toFixed(1)} s; self time:`, ...lines].join('\n');
  return { file: path.basename(file), busyUs: totalUs, text };
}
