/**
 * The library in a real browser: headless Chromium (Debian's `chromium`,
 * driven by playwright-core) loads the bundled library in a page, which runs
 * `init({ backend: 'webgpu' })` on `navigator.gpu` (SwiftShader), computes a
 * gradient, a matmul and a softmax on WebGPU, and the test checks the numbers
 * against the CPU backend in Node. The same page also runs the wasm backend
 * (`?backends=wasm`): the small gradient and a 97×131 · 131×83 matmul,
 * compared with the CPU in f64, in a page that is not cross-origin isolated
 * (no COOP/COEP headers: no SharedArrayBuffer for workers, so the backend
 * must run single-threaded) and in one that is (`&coi=1`: the server sends
 * the headers; `&threads=2` asks for a worker). Skips loudly without
 * Chromium; fails under CI=true.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servePlayground } from '../../playground/build.js';
import * as ct from '../../src/index.js';
import { collectLogs, haveChromium, launchChromium, pageResult } from '../browser/chromium.js';
import { closeMessage } from './gpu.js';

const have = haveChromium('browser test');

/** The shape of the page's wasm matmul: [m, k, n], odd sizes (SIMD tails, partial tiles), large enough to split. */
const MM = [97, 131, 83] as const;

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import * as ct from './cotangent.js';
const q = new URLSearchParams(location.search);
const backends = (q.get('backends') ?? 'webgpu').split(',');
const threads = q.get('threads') ? Number(q.get('threads')) : undefined;
const small = () => {
  const x = ct.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]);
  const w = ct.tensor([[0.2, -0.4], [0.1, 0.3], [-0.5, 0.6]]);
  const f = (w) => ct.sum(ct.mul(ct.tanh(ct.matmul(x, w)), ct.softmax(ct.matmul(x, w), -1)));
  return ct.valueAndGrad(f)(w);
};
const result = { isolated: self.crossOriginIsolated === true };
for (const backend of backends) {
  try {
    await ct.init(backend === 'wasm' && threads !== undefined ? { backend, threads } : { backend });
    const [value, g] = small();
    const r = { backend: ct.getBackend(), info: ct.backendInfo(), value: Array.from(await value.data()), grad: Array.from(await g.data()) };
    if (backend === 'wasm') {
      const [m, k, n] = [${MM.join(', ')}];
      const a = ct.tensor(Float32Array.from({ length: m * k }, (_, i) => Math.sin(0.37 * i)), { shape: [m, k] });
      const b = ct.tensor(Float32Array.from({ length: k * n }, (_, i) => Math.cos(0.11 * i)), { shape: [k, n] });
      const c = ct.matmul(a, b);
      r.matmul = Array.from(await c.data());
      r.matmulShape = c.shape;
    }
    result[backend] = r;
  } catch (e) {
    result[backend] = { error: String((e && e.stack) || e) };
  }
}
window.result = result;
</script>`;

interface PageRun {
  error?: string;
  backend: string;
  info: string;
  value: number[];
  grad: number[];
  matmul?: number[];
  matmulShape?: number[];
}
type PageResult = { isolated: boolean } & Record<string, PageRun>;

/** The small gradient on the CPU in f64: the reference of every page run. */
function referenceGradient(): { value: Float64Array; grad: Float64Array } {
  const x = ct.tensor(
    [
      [0.5, -1.0, 2.0],
      [1.5, 0.25, -0.75],
    ],
    { dtype: 'f64', backend: 'cpu' },
  );
  const w = ct.tensor(
    [
      [0.2, -0.4],
      [0.1, 0.3],
      [-0.5, 0.6],
    ],
    { dtype: 'f64', backend: 'cpu' },
  );
  const f = (w: ct.Tensor) => ct.sum(ct.mul(ct.tanh(ct.matmul(x, w)), ct.softmax(ct.matmul(x, w), -1)));
  const [value, g] = ct.valueAndGrad(f)(w);
  return { value: value.dataSync() as Float64Array, grad: (g as ct.Tensor).dataSync() as Float64Array };
}

/** The page's matmul on the CPU in f64, from the same f32 inputs. */
function referenceMatmul(): Float64Array {
  const [m, k, n] = MM;
  const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(0.37 * i));
  const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(0.11 * i));
  const c = ct.matmul(
    ct.tensor(Float64Array.from(a), { shape: [m, k], dtype: 'f64', backend: 'cpu' }),
    ct.tensor(Float64Array.from(b), { shape: [k, n], dtype: 'f64', backend: 'cpu' }),
  );
  return c.dataSync() as Float64Array;
}

describe.skipIf(!have)('cotangent in headless Chromium on WebGPU', () => {
  let server: Server | undefined;
  let url = '';
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cotangent-browser-'));
    await build({
      entryPoints: [new URL('../../src/index.ts', import.meta.url).pathname],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      outfile: join(dir, 'cotangent.js'),
      external: ['node:*', 'webgpu'],
      logLevel: 'silent',
    });
    writeFileSync(join(dir, 'index.html'), PAGE);
    // ?coi=1: the document is served cross-origin isolated (SharedArrayBuffer, workers sharing memory)
    ({ server, url } = await servePlayground(dir, 0, '127.0.0.1', (u) => u.searchParams.get('coi') === '1'));
  });
  afterAll(() => server?.close());

  /** Load the page with `query` in a fresh headless Chromium; its result and console lines. */
  async function loadPage(query: string): Promise<{ r: PageResult; logs: string[] }> {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const logs = collectLogs(page);
      await page.goto(`${url}${query}`);
      return { r: await pageResult<PageResult>(page), logs };
    } finally {
      await browser.close();
    }
  }

  const run = (r: PageResult, logs: string[], backend: string): PageRun => {
    const b = r[backend];
    if (!b) throw new Error(`the page did not run ${backend}\n${logs.join('\n')}`);
    if (b.error) throw new Error(`page failed on ${backend}: ${b.error}\n${logs.join('\n')}`);
    return b;
  };

  it('computes a gradient on WebGPU in the page that matches the CPU backend', async () => {
    const { r, logs } = await loadPage('?backends=webgpu');
    const g = run(r, logs, 'webgpu');
    console.log(`[browser test] ${g.info}`);
    expect(g.backend).toBe('webgpu');
    const want = referenceGradient();
    expect(closeMessage('value', g.value, want.value, { rtol: 1e-5, atol: 1e-6 })).toBeNull();
    expect(closeMessage('gradient', g.grad, want.grad, { rtol: 1e-4, atol: 1e-5 })).toBeNull();
  });

  /** The wasm run of a page: the gradient and the matmul equal the CPU's in f64 within f32 tolerance. */
  function checkWasm(w: PageRun): void {
    expect(w.backend).toBe('wasm');
    const want = referenceGradient();
    expect(closeMessage('value', w.value, want.value, { rtol: 1e-5, atol: 1e-6 })).toBeNull();
    expect(closeMessage('gradient', w.grad, want.grad, { rtol: 1e-4, atol: 1e-5 })).toBeNull();
    expect(w.matmulShape).toEqual([MM[0], MM[2]]);
    expect(closeMessage('matmul', w.matmul ?? [], referenceMatmul(), { rtol: 1e-4, atol: 1e-4 })).toBeNull();
  }

  it('runs the wasm backend in a page that is not cross-origin isolated (single thread: no shared memory for workers)', async () => {
    const { r, logs } = await loadPage('?backends=wasm');
    expect(r.isolated).toBe(false);
    const w = run(r, logs, 'wasm');
    console.log(`[browser test] not isolated: ${w.info}${logs.length ? ` | console: ${logs.join(' | ')}` : ''}`);
    checkWasm(w);
    expect(w.info).toMatch(/\b1 thread\b/); // the default asks for the cores; without isolation it falls back to one
  });

  it('runs the wasm backend with threads: 2 in a cross-origin-isolated page (COOP/COEP)', async () => {
    const { r, logs } = await loadPage('?backends=wasm&threads=2&coi=1');
    expect(r.isolated).toBe(true);
    const w = run(r, logs, 'wasm');
    console.log(`[browser test] isolated: ${w.info}${logs.length ? ` | console: ${logs.join(' | ')}` : ''}`);
    checkWasm(w);
    expect(w.info).toMatch(/\b2 threads\b/);
  });

  it('runs WebGPU and wasm side by side in one page', async () => {
    const { r, logs } = await loadPage('?backends=webgpu,wasm');
    const g = run(r, logs, 'webgpu');
    const w = run(r, logs, 'wasm');
    expect(g.backend).toBe('webgpu');
    checkWasm(w);
  });
});
