/**
 * The playground page in headless Chromium (Debian's `chromium`, driven by
 * playwright-core, set up by tests/browser/chromium.ts): builds the
 * page with the playground's own build script, serves it, opens it, types a
 * function into the CodeMirror editor and checks the rendered value and
 * gradient against cotangent in Node (f64 on the CPU), that a shape error is
 * shown naming the op and the shapes, that the graph was drawn as SVG; then
 * trains a few steps (WebGPU on SwiftShader) and checks that the chart received
 * a point per step and that the loss fell. Writes the screenshot
 * docs/playground.png shown in the README. Skips loudly without Chromium; fails
 * under CI=true.
 */
import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlayground, servePlayground } from '../../playground/build.js';
import { EXAMPLES, type ExampleId } from '../../playground/examples.js';
import type { PlaygroundState } from '../../playground/main.js';
import * as ct from '../../src/index.js';
import { collectLogs, haveChromium, launchChromium, PLAIN_FLAGS } from '../browser/chromium.js';
import { closeMessage } from '../webgpu/gpu.js';

const have = haveChromium('playground test');

const SCREENSHOT = new URL('../../docs/playground.png', import.meta.url).pathname;

/** The inputs in the page's default inputs editor. */
const X = [
  [0.5, -1.0, 2.0],
  [1.5, 0.25, -0.75],
];
const W = [
  [0.2, -0.4],
  [0.1, 0.3],
  [-0.5, 0.6],
];

/** The function typed into the editor, as text and as the same function in Node. */
const TYPED = '(x, w) => ct.mean(ct.square(ct.sin(ct.mul(ct.matmul(x, w), 3))))';
const typedFn = (x: ct.Tensor, w: ct.Tensor) => ct.mean(ct.square(ct.sin(ct.mul(ct.matmul(x, w), 3))));
const DEFAULT_FN = (x: ct.Tensor, w: ct.Tensor) => ct.sum(ct.mul(ct.tanh(ct.matmul(x, w)), ct.softmax(ct.matmul(x, w), -1)));

/**
 * Value and gradients (with respect to x and w) of `f` at the default inputs, on the CPU in f64; with `f32Inputs` at
 * the inputs rounded to f32 (what a page computing in f32 starts from).
 */
function reference(f: (x: ct.Tensor, w: ct.Tensor) => ct.Tensor, f32Inputs = false): { value: number; grads: Float64Array[] } {
  const round = (m: number[][]) => (f32Inputs ? m.map((r) => r.map(Math.fround)) : m);
  const x = ct.tensor(round(X), { dtype: 'f64', backend: 'cpu' });
  const w = ct.tensor(round(W), { dtype: 'f64', backend: 'cpu' });
  const [v, gs] = ct.valueAndGrad(f, { argnums: [0, 1] })(x, w) as [ct.Tensor, ct.Tensor[]];
  return { value: (v.dataSync() as Float64Array)[0]!, grads: gs.map((g) => g.dataSync() as Float64Array) };
}

type Win = { playground: PlaygroundState };

type Nested = number | Nested[];
/** Every example of the menu written out in Node: the function and its inputs (a new example without one does not compile). */
const EXAMPLE_REFS: { [K in ExampleId]: { f: (...a: ct.Tensor[]) => ct.Tensor; inputs: Nested[] } } = {
  tanhSoftmax: { f: (x, w) => DEFAULT_FN(x, w), inputs: [X, W] },
  seed: { f: (x1, x2) => ct.sub(ct.add(ct.log(x1), ct.mul(x1, x2)), ct.sin(x2)), inputs: [2, 5] },
  sumTanhSquare: { f: (x) => ct.sum(ct.tanh(ct.mul(x, x))), inputs: [[0.5, -1, 1.5, 2]] },
  reluLayer: {
    f: (w, b, x) => ct.mean(ct.square(ct.sub(ct.relu(ct.add(ct.matmul(x, w), b)), 1))),
    inputs: [
      [
        [0.3, -0.2, 0.5],
        [0.1, 0.4, -0.3],
      ],
      [0.1, 0.0, -0.1],
      [
        [1, 2],
        [-1, 0.5],
        [0.25, -2],
        [3, 1],
      ],
    ],
  },
  logsumexp: {
    f: (x, y) => ct.add(ct.logsumexp(ct.mul(x, y), -1), ct.sum(ct.softplus(ct.sub(x, y)))),
    inputs: [
      [1.5, -0.5, 2, 0.25],
      [0.5, 1, -1, 3],
    ],
  },
};

describe.skipIf(!have)('the playground page in headless Chromium', () => {
  let server: Server | undefined;
  let url = '';
  let browser: Browser | undefined;
  let page: Page;
  let logs: string[] = [];

  beforeAll(async () => {
    const dir = await buildPlayground(mkdtempSync(join(tmpdir(), 'cotangent-playground-')));
    ({ server, url } = await servePlayground(dir));
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
    logs = collectLogs(page);
    await page.goto(url);
  });
  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  /** Wait for the function panel to finish a run of `code`; its result. */
  async function runOf(code: string, inputs?: string): Promise<NonNullable<PlaygroundState['lastRun']>> {
    try {
      await page.waitForFunction(
        ([c, i]) => {
          const last = (window as unknown as Win).playground?.lastRun;
          return last?.code.trim() === c && (i === undefined || last.inputs.trim() === i);
        },
        [code.trim(), inputs?.trim()] as const,
        { timeout: 30_000 },
      );
    } catch (e) {
      const last = await page.evaluate(() => (window as unknown as Win).playground?.lastRun);
      throw new Error(`no run of ${code}: ${String(e)}\nlast run: ${JSON.stringify(last)}\nconsole:\n${logs.join('\n')}`);
    }
    return (await page.evaluate(() => (window as unknown as Win).playground.lastRun))!;
  }

  /** Replace the text of an editor (the function's by default) by typing it, key by key. */
  async function typeFunction(code: string, editor = '#fn-editor'): Promise<void> {
    await page.click(`${editor} .cm-content`);
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.type(code);
  }

  /** The gradient blocks as the page rendered them: their data attributes and text. */
  const renderedGrads = () =>
    page.$$eval('#gradient > div', (els) =>
      els.map((el) => ({
        id: el.id,
        name: (el as HTMLElement).dataset['name'],
        shape: JSON.parse((el as HTMLElement).dataset['shape'] ?? 'null') as number[],
        values: JSON.parse((el as HTMLElement).dataset['values'] ?? 'null') as number[],
        text: el.textContent ?? '',
      })),
    );

  it('shows the value, gradient and graph of the default function (f64: equal to cotangent in Node)', async () => {
    await page.waitForFunction(() => ((window as unknown as Win).playground?.runs ?? 0) >= 1, undefined, { timeout: 60_000 });
    const run = (await page.evaluate(() => (window as unknown as Win).playground.lastRun))!;
    expect(run.status, run.error).toBe('ok');
    const want = reference(DEFAULT_FN);
    expect(closeMessage('value', [run.value!], [want.value], { rtol: 1e-12, atol: 1e-14 })).toBeNull();
    const grads = await renderedGrads();
    expect(grads.map((g) => [g.id, g.name, g.shape])).toEqual([
      ['grad-0', 'x', [2, 3]],
      ['grad-1', 'w', [3, 2]],
    ]);
    for (const [i, g] of grads.entries())
      expect(closeMessage(`∂f/∂${g.name}`, g.values, want.grads[i]!, { rtol: 1e-12, atol: 1e-14 })).toBeNull();
    expect(await page.locator('#graph svg').count()).toBe(1);
  });

  it('takes new inputs typed into the inputs editor: a scalar x and the function (x) => ct.sum(ct.tanh(ct.mul(x, x)))', async () => {
    const fn = '(x) => ct.sum(ct.tanh(ct.mul(x, x)))';
    const inputs = 'x = 1.25';
    await typeFunction(fn);
    await typeFunction(inputs, '#inputs-editor');
    const run = await runOf(fn, inputs);
    expect(run.status, run.error).toBe('ok');
    // d/dx tanh(x²) = 2x (1 − tanh²(x²))
    const t = Math.tanh(1.25 * 1.25);
    expect(closeMessage('value', [run.value!], [t], { rtol: 1e-14, atol: 0 })).toBeNull();
    const grads = await renderedGrads();
    expect(grads.map((g) => [g.name, g.shape])).toEqual([['x', []]]);
    expect(closeMessage('dx', grads[0]!.values, [2 * 1.25 * (1 - t * t)], { rtol: 1e-13, atol: 1e-15 })).toBeNull();
    // back to x and w for what follows (f takes one argument: an error until the function is typed again)
    const xw = `x = ${JSON.stringify(X)}\nw = ${JSON.stringify(W)}`;
    await typeFunction(xw, '#inputs-editor');
    expect((await runOf(fn, xw)).error).toBe('f takes 1 argument but 2 inputs are given');
  });

  it('runs every example of the menu: value and gradient equal cotangent in Node (f64)', async () => {
    for (const [id, ex] of Object.entries(EXAMPLES) as [ExampleId, (typeof EXAMPLES)[ExampleId]][]) {
      await page.selectOption('#example', id);
      const run = await runOf(ex.fn, ex.inputs);
      expect(run.status, `${id}: ${run.error}`).toBe('ok');
      const ref = EXAMPLE_REFS[id];
      const args = ref.inputs.map((v) => ct.tensor(v as number[], { dtype: 'f64', backend: 'cpu' }));
      const argnums = args.map((_, i) => i);
      const [v, gs] = ct.valueAndGrad(ref.f, { argnums })(...args) as [ct.Tensor, ct.Tensor[]];
      expect(closeMessage(`${id} value`, [run.value!], v.dataSync(), { rtol: 1e-12, atol: 1e-14 })).toBeNull();
      expect(run.grads!.length).toBe(args.length);
      for (const [i, g] of run.grads!.entries()) {
        expect(g.shape, `${id} ∂f/∂${g.name}`).toEqual(args[i]!.shape);
        expect(closeMessage(`${id} ∂f/∂${g.name}`, g.values, gs[i]!.dataSync(), { rtol: 1e-12, atol: 1e-14 })).toBeNull();
      }
      expect(run.graph).toBe(true);
    }
    // the seed function's gradient in closed form: [1/2 + 5, 2 − cos 5]
    await page.selectOption('#example', 'seed');
    const seed = await runOf(EXAMPLES.seed.fn, EXAMPLES.seed.inputs);
    expect(
      closeMessage(
        'seed',
        seed.grads!.flatMap((g) => g.values),
        [5.5, 2 - Math.cos(5)],
        { rtol: 1e-15, atol: 0 },
      ),
    ).toBeNull();
    // back to the default, for what follows
    await page.selectOption('#example', 'tanhSoftmax');
    await runOf(EXAMPLES.tanhSoftmax.fn, EXAMPLES.tanhSoftmax.inputs);
  });

  it('shows an error naming the op and the shapes when the typed function does not fit its inputs', async () => {
    const bad = '(x, w) => ct.sum(ct.matmul(w, w))';
    await typeFunction(bad);
    const run = await runOf(bad);
    expect(run.status).toBe('error');
    const shown = await page.textContent('#error');
    expect(shown).toBe(run.error);
    expect(shown).toMatch(/matmul/);
    expect(shown).toMatch(/\[3,\s*2\]/);
  });

  it('recomputes on an edit typed into the editor: the gradient numbers equal cotangent in Node, the graph is redrawn', async () => {
    await typeFunction(TYPED);
    const run = await runOf(TYPED);
    expect(run.status, run.error).toBe('ok');
    expect(await page.textContent('#error')).toBe('');
    const want = reference(typedFn);
    expect(
      closeMessage('value', [Number(await page.getAttribute('#value', 'data-value'))], [want.value], { rtol: 1e-12, atol: 1e-14 }),
    ).toBeNull();
    const grads = await renderedGrads();
    expect(grads).toHaveLength(2);
    for (const [i, g] of grads.entries()) {
      expect(closeMessage(`∂f/∂${g.name}`, g.values, want.grads[i]!, { rtol: 1e-12, atol: 1e-14 })).toBeNull();
      // the text shows each number to 6 significant digits
      const first = Number(want.grads[i]![0]!.toPrecision(6)).toString();
      expect(g.text).toContain(first);
    }
    const svg = await page.locator('#graph svg').innerHTML();
    for (const op of ['matmul', 'sin', 'mul']) expect(svg).toContain(op);

    // the graph of the gradient: the backward pass's equations (cos from sin's derivative, a transposed matmul)
    await page.selectOption('#graph-of', 'grad');
    await page.waitForFunction(() => document.getElementById('graph-info')?.textContent?.startsWith('∇f'), undefined, { timeout: 30_000 });
    const gradSvg = await page.locator('#graph svg').innerHTML();
    expect(gradSvg).toContain('cos');
    expect(Number(/(\d+) equations/.exec((await page.textContent('#graph-info')) ?? '')?.[1])).toBeGreaterThan(6);
    await page.selectOption('#graph-of', 'f');

    // f32 on the page's backend (WebGPU here) agrees within f32 rounding and WGSL's sin/cos bound (absolute error 2^-11,
    // scaled here by 3/2 · |w| summed over two terms: under 2e-3)
    await page.selectOption('#precision', 'f32');
    await page.waitForFunction(() => (window as unknown as Win).playground.lastRun?.precision === 'f32', undefined, { timeout: 30_000 });
    const r32 = (await page.evaluate(() => (window as unknown as Win).playground.lastRun))!;
    expect(r32.status, r32.error).toBe('ok');
    const want32 = reference(typedFn, true);
    for (const [i, g] of r32.grads!.entries())
      expect(closeMessage(`f32 ∂f/∂${g.name}`, g.values, want32.grads[i]!, { rtol: 1e-4, atol: 2e-3 })).toBeNull();
    await page.selectOption('#precision', 'f64');
    await page.waitForFunction(() => (window as unknown as Win).playground.lastRun?.precision === 'f64', undefined, { timeout: 30_000 });
  });

  it('trains the MLP on the digits: a chart point per step, the loss falls; writes the screenshot', async () => {
    const STEPS = 40;
    const liveBefore = await page.evaluate(() => (window as unknown as Win).playground.liveTensors());
    await page.fill('#steps', String(STEPS));
    await page.click('#train');
    try {
      await page.waitForFunction(
        () => ['done', 'stopped', 'error'].includes((window as unknown as Win).playground.trainStatus),
        undefined,
        {
          timeout: 90_000,
        },
      );
    } catch (e) {
      throw new Error(`training did not finish: ${String(e)}\nconsole:\n${logs.join('\n')}`);
    }
    const s = await page.evaluate(() => {
      const p = (window as unknown as Win).playground;
      return { status: p.trainStatus, error: p.trainError, backend: p.trainBackend, history: p.history, points: p.chartPoints() };
    });
    expect(s.status, `${s.error}\n${logs.join('\n')}`).toBe('done');
    console.log(`[playground test] trained ${s.history.length} steps on ${s.backend}: ${await page.textContent('#train-status')}`);
    expect(s.backend).toBe('webgpu'); // the browser has WebGPU (SwiftShader)
    expect(await page.textContent('#train-backend-used')).toBe('webgpu');
    expect(s.history.map((h) => h.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    expect(s.points).toBe(STEPS);
    for (const h of s.history) expect(Number.isFinite(h.loss) && h.accuracy >= 0 && h.accuracy <= 1).toBe(true);
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    const head = mean(s.history.slice(0, 5).map((h) => h.loss));
    const tail = mean(s.history.slice(-5).map((h) => h.loss));
    const h = s.history;
    const later = (h[STEPS - 1]!.ms - h[0]!.ms) / (STEPS - 1);
    console.log(
      `[playground test] loss: first 5 steps ${head.toFixed(3)}, last 5 ${tail.toFixed(3)}; first step ${h[0]!.ms.toFixed(0)} ms ` +
        `(tracing, compiling), later ${later.toFixed(0)} ms/step (two test evaluations included)`,
    );
    expect(head).toBeGreaterThan(1.5); // ln 10 ≈ 2.3 at the start
    expect(tail).toBeLessThan(0.7 * head);
    const tested = s.history.filter((h) => h.testAccuracy !== undefined);
    expect(tested.length).toBeGreaterThanOrEqual(1);
    expect(tested[tested.length - 1]!.testAccuracy!).toBeGreaterThan(0.5);
    expect(await page.getAttribute('#train-progress', 'value')).toBe(String(STEPS));
    expect(await page.locator('#chart canvas').count()).toBeGreaterThan(0);
    // the run frees what it made: parameters, optimiser state, batches, metrics, the compiled step's constants
    expect(await page.evaluate(() => (window as unknown as Win).playground.liveTensors())).toBe(liveBefore);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('trains on wasm in a browser without WebGPU (the fallback), in a cross-origin-isolated page (threads allowed)', async () => {
    const plain = await launchChromium(PLAIN_FLAGS);
    try {
      const p = await plain.newPage();
      // a browser without WebGPU whatever the machine's GPU (no navigator.gpu): the page must fall back to wasm
      await p.addInitScript(() => delete (Navigator.prototype as { gpu?: unknown }).gpu);
      const plainLogs: string[] = [];
      p.on('pageerror', (e) => plainLogs.push(`pageerror: ${e.message}`));
      await p.goto(url);
      await p.fill('#steps', '25');
      await p.click('#train');
      await p.waitForFunction(() => ['done', 'stopped', 'error'].includes((window as unknown as Win).playground.trainStatus), undefined, {
        timeout: 60_000,
      });
      const r = await p.evaluate(() => {
        const w = (window as unknown as Win).playground;
        return { status: w.trainStatus, error: w.trainError, backend: w.trainBackend, history: w.history, points: w.chartPoints() };
      });
      expect(r.status, `${r.error}\n${plainLogs.join('\n')}`).toBe('done');
      const badge = (await p.textContent('#backend')) ?? '';
      console.log(`[playground test] without WebGPU: ${badge} | ${await p.textContent('#train-status')}`);
      expect(r.backend).toBe('wasm');
      expect(badge).toMatch(/^wasm — .*\(this browser has no WebGPU\)$/);
      expect(await p.evaluate(() => self.crossOriginIsolated)).toBe(true);
      expect(r.points).toBe(25);
      const first = r.history.slice(0, 5).reduce((a, h) => a + h.loss, 0) / 5;
      const last = r.history.slice(-5).reduce((a, h) => a + h.loss, 0) / 5;
      expect(last).toBeLessThan(0.8 * first);

      // Stop ends a long run after the step under way, with the steps so far in the chart
      await p.fill('#steps', '100000');
      await p.click('#train');
      await p.waitForFunction(() => (window as unknown as Win).playground.history.length >= 3, undefined, { timeout: 30_000 });
      await p.click('#stop');
      await p.waitForFunction(() => (window as unknown as Win).playground.trainStatus === 'stopped', undefined, { timeout: 30_000 });
      const stopped = await p.evaluate(() => ({
        n: (window as unknown as Win).playground.history.length,
        pts: (window as unknown as Win).playground.chartPoints(),
      }));
      expect(stopped.n).toBeLessThan(100_000);
      expect(stopped.pts).toBe(stopped.n);
      expect(await p.isEnabled('#train')).toBe(true);
      expect(await p.isDisabled('#stop')).toBe(true);
    } finally {
      await plain.close();
    }
  });
});
