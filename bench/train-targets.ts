/**
 * Training targets: runs the `cotangent train` command line on the target
 * workloads, one after another, and prints a Markdown table (test accuracy,
 * epochs, training time). Usage:
 *   npx tsx bench/train-targets.ts                 # digits MLP and CNN
 *   npx tsx bench/train-targets.ts --fashion       # also Fashion-MNIST MLP 784-256-128-10 and CNN
 *   npx tsx bench/train-targets.ts --fashion DIR   # Fashion-MNIST IDX files from DIR
 *   npx tsx bench/train-targets.ts --fashion --backend webgpu   # on the WebGPU backend (CNN: 4 epochs)
 * Fashion-MNIST comes from Debian's dataset-fashion-mnist package by default.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cpus, tmpdir } from 'node:os';

const args = process.argv.slice(2);
const fi = args.indexOf('--fashion');
const fashion = fi >= 0 ? (args[fi + 1] && !args[fi + 1]!.startsWith('--') ? args[fi + 1]! : 'fashion-mnist') : undefined;

const bi = args.indexOf('--backend');
const backend = bi >= 0 ? (args[bi + 1] ?? 'cpu') : 'cpu';
const runs: { name: string; argv: string[] }[] = [
  { name: 'digits, default MLP 64-128-10 (npm start)', argv: [] },
  { name: 'digits, CNN', argv: ['--model', 'cnn'] },
];
if (fashion) {
  runs.push({ name: 'Fashion-MNIST, MLP 784-256-128-10', argv: ['--data', fashion, '--model', '784-256-128-10', '--epochs', '5'] });
  // one CPU epoch of the CNN takes minutes; on a GPU four epochs take under a minute
  runs.push({
    name: 'Fashion-MNIST, CNN',
    argv: ['--data', fashion, '--model', 'cnn', '--epochs', backend === 'webgpu' ? '4' : '1', '--lr', '0.002'],
  });
}

const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
const rows: string[] = [];
for (const r of runs) {
  const out = join(tmpdir(), `cotangent-target-${rows.length}`);
  const t0 = Date.now();
  const p = spawnSync(tsx, ['src/cli/main.ts', 'train', ...r.argv, '--backend', backend, '--out', out], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const wall = (Date.now() - t0) / 1000;
  const m = /test accuracy ([\d.]+)% \((\d+)\/(\d+)\) after (\d+) epochs; training ([\d.]+) s/.exec(p.stdout);
  rows.push(
    m
      ? `| ${r.name} | ${m[1]}% (${m[2]}/${m[3]}) | ${m[4]} | ${m[5]} s | ${wall.toFixed(1)} s |`
      : `| ${r.name} | failed (exit ${p.status}) | | | ${wall.toFixed(1)} s |`,
  );
  console.error(rows[rows.length - 1]);
}
console.log(`\nMachine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${backend} backend.\n`);
console.log('| workload | test accuracy | epochs | training time | wall time (with start-up and data loading) |');
console.log('| --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
