/**
 * Export and drawing in a real browser: headless Chromium (driven by
 * playwright-core, as the WebGPU browser test) loads a page bundling
 * cotangent and onnxruntime-web; the page draws a graph with `graphToSvg`
 * (Graphviz's WebAssembly build), exports a small MLP with `exportOnnx`
 * (protobufjs in the page), runs the bytes in ONNX Runtime Web's WebAssembly
 * backend and returns the outputs, which the test compares with the same
 * model in Node. Skips loudly without Chromium; fails under CI=true.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const have = existsSync(CHROMIUM);
if (!have) {
  const msg = `ONNX browser test: no Chromium at ${CHROMIUM} (run as root: bash scripts/setup-software-gpu.sh, or set CHROMIUM_PATH)`;
  if (process.env.CI === 'true') throw new Error(msg);
  console.warn(`\n!!!!!! ${msg} — SKIPPED\n`);
}

const root = resolve(__dirname, '../..');
const ORT_DIST = join(root, 'node_modules/onnxruntime-web/dist');

/** The page's script: the model is a function of a seed, so that Node builds the same one. */
const ENTRY = `
import * as ct from '${join(root, 'src/index.ts')}';
import { exportOnnx } from '${join(root, 'src/io/onnx/export.ts')}';
import * as ort from 'onnxruntime-web';

const result = {};
try {
  await ct.init({ backend: 'cpu' });
  const model = ct.nn.serial(ct.nn.dense(16), ct.nn.relu, ct.nn.dense(3));
  const { params } = model.init(ct.nn.random.key(7), [-1, 5]);
  const x = ct.tensor(Float32Array.from({ length: 4 * 5 }, (_, i) => Math.sin(i)), { shape: [4, 5] });
  const apply = (v) => model.apply(params, v);
  result.svg = await ct.graphToSvg(ct.makeGraph(apply, x), 'mlp');
  const bytes = await exportOnnx(apply, x, { names: { params } });
  result.bytes = bytes.length;
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = '/ort/';
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  const out = await session.run({ input: new ort.Tensor('float32', new Float32Array(x.dataSync()), [4, 5]) });
  result.ort = { dims: Array.from(out.output.dims), data: Array.from(out.output.data) };
  result.cotangent = Array.from(apply(x).dataSync());
} catch (e) {
  result.error = String((e && e.stack) || e);
}
window.result = result;
`;

interface PageResult {
  error?: string;
  svg: string;
  bytes: number;
  ort: { dims: number[]; data: number[] };
  cotangent: number[];
}

describe.skipIf(!have)('exportOnnx, ONNX Runtime Web and graphToSvg in headless Chromium', () => {
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cotangent-onnx-browser-'));
    writeFileSync(join(dir, 'entry.mjs'), ENTRY);
    await build({
      entryPoints: [join(dir, 'entry.mjs')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      outfile: join(dir, 'page.js'),
      external: ['node:*', 'webgpu'],
      nodePaths: [join(root, 'node_modules')],
      logLevel: 'silent',
    });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="page.js"></script>');
    const types: Record<string, string> = { js: 'text/javascript', mjs: 'text/javascript', wasm: 'application/wasm', html: 'text/html' };
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      // ONNX Runtime's WebAssembly files from its package, the page from the build folder
      const file = path.startsWith('/ort/') ? join(ORT_DIST, path.slice(5)) : join(dir, path === '/' ? 'index.html' : path.slice(1));
      try {
        const body = readFileSync(file);
        res.writeHead(200, { 'content-type': types[file.split('.').pop() ?? ''] ?? 'application/octet-stream' });
        res.end(body);
      } catch {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => server?.close());

  it('draws the SVG and runs the exported MLP in ONNX Runtime Web with cotangent’s outputs', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox'], headless: true });
    let r: PageResult;
    const logs: string[] = [];
    try {
      const page = await browser.newPage();
      page.on('console', (m) => logs.push(m.text()));
      page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 90_000 });
      r = (await page.evaluate(() => (window as unknown as { result: unknown }).result)) as PageResult;
    } finally {
      await browser.close();
    }
    if (r.error) throw new Error(`the page failed: ${r.error}\n${logs.join('\n')}`);
    expect(r.svg).toMatch(/<svg[\s\S]*<\/svg>/);
    expect(r.svg).toMatch(/matmul/);
    expect(r.svg).toMatch(/relu/);
    expect(r.ort.dims).toEqual([4, 3]);
    // the page's cotangent equals Node's (same seed), and ONNX Runtime Web equals both within f32 rounding
    await ct.init({ backend: 'cpu' });
    const model = ct.nn.serial(ct.nn.dense(16), ct.nn.relu, ct.nn.dense(3));
    const { params } = model.init(ct.nn.random.key(7), [-1, 5]);
    const x = ct.tensor(
      Float32Array.from({ length: 4 * 5 }, (_, i) => Math.sin(i)),
      { shape: [4, 5] },
    );
    const want = Array.from((model.apply(params, x) as ct.Tensor).dataSync());
    expect(r.cotangent).toEqual(want);
    r.ort.data.forEach((v, i) => {
      expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[i]!)));
    });
  });
});
