/**
 * `npm run bench`: runs every peer in its own process (same seeded data, same
 * adapter for all WebGPU peers) and prints one table: matmul GFLOP/s at each
 * N, the MLP SGD step in ms and steps/s, and each peer's ratio to cotangent
 * (peer time / cotangent time on the same kind of device: > 1 means
 * cotangent is faster; CPU peers against cotangent's wasm backend when it ran,
 * else its cpu backend; WebGPU peers against its WebGPU backend). First-step
 * losses are printed so the runs can be cross-checked.
 *
 * Peers: cotangent cpu / wasm / webgpu, tfjs cpu / wasm / webgpu, jax-js wasm
 * on 1 thread and on 2 worker threads (bench/web-worker-shim.ts), jax-js
 * webgpu, and PyTorch on 2 threads when `python3 -c 'import torch'` works
 * (bench/torch_peer.py; skipped with a note otherwise).
 *
 * Flags (after `npm run bench --`): `--only cpu` (every peer but the WebGPU
 * ones: no GPU or Dawn needed), `--only webgpu`, `--peers a,b` (= BENCH_PEERS),
 * `--quick` (matmul at N = 256 only unless BENCH_SIZES is set, two
 * repetitions per figure: checks the runner end to end, measures nothing).
 * Environment: BENCH_SIZES=256,512,1024, BENCH_PEERS=comma list,
 * COTANGENT_WEBGPU_ADAPTER=auto|hardware|llvmpipe|swiftshader,
 * BENCH_MM_BATCH=matmuls per timed repetition (default 1; 10 on a real GPU),
 * BENCH_WASM_THREADS=threads of cotangent's wasm backend (default: its own),
 * BENCH_TORCH_THREADS (default 2), BENCH_PYTHON (default python3),
 * BENCH_CPU_BASE=wasm|cpu (the cotangent row CPU peers are compared with),
 * BENCH_WORKER=a prebuilt worker script (to run without tsx).
 */
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PeerResult } from './data.js';
import { jacobianTable } from './jacobian.js';

const here = dirname(fileURLToPath(import.meta.url));
const ALL = [
  'cotangent-cpu',
  'cotangent-wasm',
  'cotangent-webgpu',
  'tfjs-cpu',
  'tfjs-wasm',
  'tfjs-webgpu',
  'jax-wasm',
  'jax-wasm-2t',
  'jax-webgpu',
  'torch',
];
const isGpuPeer = (p: string): boolean => /webgpu/.test(p);

function usage(msg: string): never {
  process.stderr.write(
    `bench: ${msg}\nusage: npm run bench -- [--only cpu|webgpu] [--peers a,b,...] [--quick]\npeers: ${ALL.join(', ')}\n`,
  );
  process.exit(2);
}

const argv = process.argv.slice(2);
let only: 'cpu' | 'webgpu' | undefined;
let peerList = process.env['BENCH_PEERS'];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  const [name, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
  const value = () => inline ?? argv[++i] ?? usage(`${name} needs a value`);
  if (name === '--only') {
    const v = value();
    if (v !== 'cpu' && v !== 'webgpu') usage(`--only must be cpu or webgpu, got '${v}'`);
    only = v;
  } else if (name === '--peers') peerList = value();
  else if (name === '--quick') {
    process.env['BENCH_QUICK'] = '1';
    process.env['BENCH_SIZES'] ??= '256';
  } else usage(`unknown argument '${a}'`);
}
const peers = (peerList ? peerList.split(',') : ALL).filter((p) => only === undefined || isGpuPeer(p) === (only === 'webgpu'));
for (const p of peers) if (!ALL.includes(p)) usage(`unknown peer '${p}'`);
// data.ts reads the sizes when it is imported: after the flags above
const { MATMUL_SIZES } = await import('./data.js');
const notes: string[] = [];
const python = process.env['BENCH_PYTHON'] ?? 'python3';

/** PyTorch's peer (a Python process), or null with a note when torch is not importable. */
function runTorch(): (PeerResult & { adapterKind?: string }) | null {
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    const why = probe.error ? `${python} not found` : (probe.stderr ?? '').trim().split('\n').pop();
    notes.push(
      `PyTorch row skipped: \`${python} -c 'import torch'\` failed (${why}); install PyTorch (e.g. Debian python3-torch) to add it.`,
    );
    process.stderr.write(`  torch: skipped (not installed)\n`);
    return null;
  }
  const t0 = Date.now();
  const r = spawnSync(python, [join(here, 'torch_peer.py')], {
    encoding: 'utf8',
    env: process.env,
    maxBuffer: 1 << 26,
    timeout: 20 * 60_000,
  });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
  process.stderr.write(`  torch: ${((Date.now() - t0) / 1000).toFixed(0)} s ${line ?? ''}\n`);
  if (!line)
    return {
      peer: 'PyTorch',
      device: '',
      matmul: [],
      mlp: null,
      error: `no result (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`,
    };
  return JSON.parse(line.slice(7)) as PeerResult;
}

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
  if (p === 'torch') {
    const r = runTorch();
    if (r) results.push(r);
    continue;
  }
  const r = runWorker(p, kind);
  if (r.adapterKind) kind = r.adapterKind;
  results.push(r);
}

const cpuBaseWanted = process.env['BENCH_CPU_BASE'] === 'cpu' ? 'cotangent (cpu)' : 'cotangent (wasm)';
const cpuBase =
  results.find((x) => x.peer === cpuBaseWanted && !x.error) ?? results.find((x) => /^cotangent \((cpu|wasm)\)$/.test(x.peer) && !x.error);
const ours = (r: PeerResult): PeerResult | undefined =>
  isGpuPeer(r.peer) ? results.find((x) => x.peer === 'cotangent (webgpu)') : cpuBase;

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
  'MLP jit ms/step',
  ...MATMUL_SIZES.map((n) => `× mm ${n}`),
  '× MLP',
  '× MLP jit',
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
  // a peer's fastest step (its jitted one where it has one) against cotangent's jitted step
  const peerBest = r.mlpJit ?? r.mlp;
  const jitRatio = base?.mlpJit && peerBest ? fmt(peerBest.msPerStep / base.mlpJit.msPerStep) : '—';
  lines.push(
    `| ${[
      r.peer,
      ...mm.map((m) => fmt(m?.gflops)),
      fmt(r.mlp?.msPerStep, 1),
      fmt(r.mlp?.stepsPerSec),
      r.mlpJit ? `${fmt(r.mlpJit.msPerStep, 1)}${isGpuPeer(r.peer) ? ` (${fmt(r.mlpJit.submitsPerStep, 1)} submit/step)` : ''}` : '—',
      ...ratios,
      mlpRatio,
      jitRatio,
      fmt(r.mlp?.firstLoss, 5),
    ].join(' | ')} |`,
  );
}
lines.push('');
lines.push(
  '× columns: peer time / cotangent time on the same kind of backend (CPU peers vs ' +
    `${cpuBase?.peer ?? 'cotangent (cpu or wasm): not run'}, WebGPU peers vs cotangent (webgpu)); > 1 means cotangent is faster.`,
);
lines.push(
  'MLP step: cotangent eager (valueAndGrad + SGD each step) and jitted (the whole step one jit program, parameters donated), ' +
    "jax-js jitted whole, tfjs optimizer.minimize, PyTorch eager autograd. × MLP jit: the peer's step / cotangent's jitted step.",
);
lines.push('devices:');
for (const r of results) if (r.device) lines.push(`- ${r.peer}: ${r.device}`);
for (const n of notes) lines.push(n);
if (process.env['BENCH_QUICK'] === '1') lines.push('--quick: two repetitions per figure; a check of the runner, not a measurement.');
const jacRows = results.flatMap((r) => (r.jacobian && !r.error ? [{ peer: r.peer, jacobian: r.jacobian }] : []));
if (jacRows.length > 0) lines.push('', ...jacobianTable(jacRows));
console.log(lines.join('\n'));
