/**
 * `npm run bench`: runs every peer in its own process (same seeded data, same
 * adapter for all WebGPU peers) and prints one table: matmul GFLOP/s at each
 * N, the MLP SGD step in ms and steps/s, and each peer's ratio to cotangent
 * (peer time / cotangent time on the same kind of device: > 1 means
 * cotangent is faster). First-step losses are printed so the runs can be
 * cross-checked. Options (environment): BENCH_SIZES=256,512,1024,
 * BENCH_PEERS=comma list, COTANGENT_WEBGPU_ADAPTER=auto|hardware|llvmpipe|swiftshader,
 * BENCH_MM_BATCH=matmuls per timed repetition (default 1; 10 on a real GPU),
 * BENCH_WORKER=a prebuilt worker script (to run without tsx).
 */
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PeerResult } from './data.js';
import { MATMUL_SIZES } from './data.js';

const here = dirname(fileURLToPath(import.meta.url));
const ALL = ['cotangent-cpu', 'cotangent-webgpu', 'tfjs-cpu', 'tfjs-wasm', 'tfjs-webgpu', 'jax-wasm', 'jax-webgpu'];
const peers = process.env['BENCH_PEERS'] ? process.env['BENCH_PEERS'].split(',') : ALL;

function runWorker(peer: string, kind: string): PeerResult & { adapterKind?: string } {
  const t0 = Date.now();
  const worker = process.env['BENCH_WORKER'] ? [process.env['BENCH_WORKER']] : ['--import', 'tsx', join(here, 'worker.ts')];
  const r = spawnSync(process.execPath, [...worker, peer, kind], {
    encoding: 'utf8',
    env: process.env,
    maxBuffer: 1 << 26,
    timeout: 20 * 60_000,
  });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
  process.stderr.write(`  ${peer}: ${((Date.now() - t0) / 1000).toFixed(0)} s ${line ?? ''}\n`);
  if (!line)
    return {
      peer,
      device: '',
      matmul: [],
      mlp: null,
      error: `no result (exit ${r.status}): ${(r.stderr ?? '')
        .split('\n')
        .filter((l) => l && !l.startsWith('Warning'))
        .slice(-3)
        .join(' | ')}`,
    };
  return JSON.parse(line.slice(7)) as PeerResult & { adapterKind?: string };
}

const fmt = (v: number | undefined, d = 2): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));

process.env['COTANGENT_WEBGPU_ADAPTER'] ??= 'auto';
process.stderr.write(`bench: ${peers.join(', ')}\n`);
const results: (PeerResult & { adapterKind?: string })[] = [];
let kind = process.env['COTANGENT_WEBGPU_ADAPTER'] === 'auto' ? 'llvmpipe' : process.env['COTANGENT_WEBGPU_ADAPTER'];
for (const p of peers) {
  const r = runWorker(p, kind);
  if (r.adapterKind) kind = r.adapterKind;
  results.push(r);
}

const ours = (r: PeerResult): PeerResult | undefined => {
  const gpu = /webgpu/.test(r.peer);
  return results.find((x) => x.peer === (gpu ? 'cotangent (webgpu)' : 'cotangent (cpu)'));
};

const lines: string[] = [];
lines.push(
  `machine: ${cpus()[0]?.model ?? '?'} × ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}`,
);
const gpuDev = results.find((r) => r.peer === 'cotangent (webgpu)')?.device;
if (gpuDev) lines.push(`WebGPU adapter: ${gpuDev}`);
lines.push('');
const head = [
  'peer',
  ...MATMUL_SIZES.map((n) => `matmul ${n} GFLOP/s`),
  'MLP ms/step',
  'MLP steps/s',
  ...MATMUL_SIZES.map((n) => `× mm ${n}`),
  '× MLP',
  'first loss',
];
lines.push(`| ${head.join(' | ')} |`);
lines.push(`| ${head.map(() => '---').join(' | ')} |`);
for (const r of results) {
  if (r.error) {
    lines.push(`| ${r.peer} | error: ${r.error} |`);
    continue;
  }
  const base = ours(r);
  const mm = MATMUL_SIZES.map((n) => r.matmul.find((m) => m.n === n));
  const ratios = MATMUL_SIZES.map((n, i) => {
    const b = base?.matmul.find((m) => m.n === n);
    return b && mm[i] ? fmt(mm[i].ms / b.ms) : '—';
  });
  const mlpRatio = base?.mlp && r.mlp ? fmt(r.mlp.msPerStep / base.mlp.msPerStep) : '—';
  lines.push(
    `| ${[r.peer, ...mm.map((m) => fmt(m?.gflops)), fmt(r.mlp?.msPerStep, 1), fmt(r.mlp?.stepsPerSec), ...ratios, mlpRatio, fmt(r.mlp?.firstLoss, 5)].join(' | ')} |`,
  );
}
lines.push('');
lines.push(
  '× columns: peer time / cotangent time on the same kind of backend (CPU peers vs cotangent cpu, WebGPU peers vs cotangent webgpu); > 1 means cotangent is faster.',
);
console.log(lines.join('\n'));
