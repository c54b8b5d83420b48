/**
 * The library in a real browser: headless Chromium (Debian's `chromium`,
 * driven by playwright-core) loads the bundled library in a page, which runs
 * `init({ backend: 'webgpu' })` on `navigator.gpu` (SwiftShader), computes a
 * gradient, a matmul and a softmax on WebGPU, and the test checks the numbers
 * against the CPU backend in Node. Skips loudly without Chromium; fails under CI=true.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { closeMessage } from './gpu.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = [
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  '--headless',
  '--no-sandbox',
  '--use-webgpu-adapter=swiftshader',
  '--enable-features=Vulkan',
];

const have = existsSync(CHROMIUM);
if (!have) {
  const msg = `browser test: no Chromium at ${CHROMIUM} (run as root: bash scripts/setup-software-gpu.sh, or set CHROMIUM_PATH)`;
  if (process.env.CI === 'true') throw new Error(msg);
  console.warn(`\n!!!!!! ${msg} — SKIPPED\n`);
}

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import * as ct from './cotangent.js';
try {
  await ct.init({ backend: 'webgpu' });
  const x = ct.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]);
  const w = ct.tensor([[0.2, -0.4], [0.1, 0.3], [-0.5, 0.6]]);
  const f = (w) => ct.sum(ct.mul(ct.tanh(ct.matmul(x, w)), ct.softmax(ct.matmul(x, w), -1)));
  const [value, g] = ct.valueAndGrad(f)(w);
  window.result = { backend: ct.getBackend(), adapter: ct.backendInfo(), value: Array.from(await value.data()), grad: Array.from(await g.data()) };
} catch (e) {
  window.result = { error: String(e && e.stack || e) };
}
</script>`;

describe.skipIf(!have)('cotangent in headless Chromium on WebGPU', () => {
  let server: Server;
  let port = 0;
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
    const { readFileSync } = await import('node:fs');
    server = createServer((req, res) => {
      const file = req.url === '/' ? 'index.html' : (req.url ?? '').replace(/^\//, '');
      try {
        const body = readFileSync(join(dir, file));
        res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/html' });
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

  it('computes a gradient on WebGPU in the page that matches the CPU backend', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
    try {
      const page = await browser.newPage();
      const logs: string[] = [];
      page.on('console', (m) => logs.push(m.text()));
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 90_000 });
      const r = (await page.evaluate(() => (window as unknown as { result: unknown }).result)) as {
        error?: string;
        backend: string;
        adapter: string;
        value: number[];
        grad: number[];
      };
      if (r.error) throw new Error(`page failed: ${r.error}\n${logs.join('\n')}`);
      console.log(`[browser test] ${r.adapter}`);
      expect(r.backend).toBe('webgpu');
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
      expect(closeMessage('value', r.value, value.dataSync(), { rtol: 1e-5, atol: 1e-6 })).toBeNull();
      expect(closeMessage('gradient', r.grad, (g as ct.Tensor).dataSync(), { rtol: 1e-4, atol: 1e-5 })).toBeNull();
    } finally {
      await browser.close();
    }
  });
});
