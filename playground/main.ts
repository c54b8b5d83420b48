/**
 * The playground page: a function of tensors written in an editor (CodeMirror)
 * with its inputs; on every change (debounced) or on Run the page shows the
 * value, the gradient with respect to every argument and the graph (makeGraph +
 * graphToSvg, Graphviz compiled to WebAssembly). A Train panel trains an MLP on
 * the embedded 8×8 digits, live, on WebGPU when the browser has it (else the
 * wasm backend), with a loss and accuracy chart (uPlot) updated every step.
 *
 * `window.playground` exposes the state that the browser test reads (the last
 * run, the training history and the chart's data).
 */
import { javascript } from '@codemirror/lang-javascript';
import { basicSetup, EditorView } from 'codemirror';
import uPlot from 'uplot';
import * as ct from '../src/index.js';
import { parseCsv } from '../src/io/csv.js';
import * as nn from '../src/nn/index.js';
import { EXAMPLES, type Example } from './examples.js';

/** What the function panel computed last (read by the browser test). */
export interface RunResult {
  /** 'ok' or 'error'. */
  readonly status: 'ok' | 'error';
  readonly error?: string;
  readonly code: string;
  /** The inputs editor's text. */
  readonly inputs: string;
  readonly precision: 'f32' | 'f64';
  readonly value?: number;
  /** Per argument: name, shape and the gradient's values, row-major. */
  readonly grads?: readonly { name: string; shape: readonly number[]; values: number[] }[];
  /** Whether the graph's SVG was drawn. */
  readonly graph?: boolean;
}

/** One training step as recorded (read by the browser test and drawn in the chart). */
export interface StepRecord {
  readonly step: number;
  readonly loss: number;
  readonly accuracy: number;
  /** Test-set accuracy, measured at the end of each epoch and of the run. */
  readonly testAccuracy?: number;
  /** Milliseconds since the run's first step began, when this step's numbers were read. */
  readonly ms: number;
}

/** The page's state on `window.playground`. */
export interface PlaygroundState {
  /** Runs completed by the function panel (a counter the test waits on). */
  runs: number;
  lastRun?: RunResult;
  /** 'idle', 'loading', 'training', 'done', 'stopped' or 'error'. */
  trainStatus: string;
  trainBackend?: string;
  trainError?: string;
  history: StepRecord[];
  /** The number of points in the chart's data (its x series). */
  chartPoints(): number;
  /** Live tensors on every backend (`ct.memoryStats().liveTensors`): the same before and after a training run. */
  liveTensors(): number;
}

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`playground: the page has no element #${id}`);
  return el as T;
};

const DEFAULT_FN = EXAMPLES.tanhSoftmax.fn;
const DEFAULT_INPUTS = EXAMPLES.tanhSoftmax.inputs;

const state: PlaygroundState = {
  runs: 0,
  trainStatus: 'idle',
  history: [],
  chartPoints: () => (chart ? chart.data[0].length : 0),
  liveTensors: () => ct.memoryStats().liveTensors,
};
(window as unknown as { playground: PlaygroundState }).playground = state;

// ---------------------------------------------------------------- backend

/** The backend the page uses for f32 work and training, once chosen. */
let backendReady: Promise<string> | null = null;

/** Make `choice` the default backend ('auto': WebGPU where the browser has an adapter, else wasm); its name. */
async function useBackend(choice: string): Promise<string> {
  const badge = $('backend');
  let name: ct.BackendName;
  let note = '';
  if (choice === 'auto') {
    name = 'wasm';
    if ('gpu' in navigator && navigator.gpu) {
      try {
        name = await ct.init({ backend: 'webgpu' });
      } catch (e) {
        note = ` (WebGPU unavailable: ${e instanceof Error ? e.message.split('\n')[0] : String(e)})`;
      }
    } else note = ' (this browser has no WebGPU)';
    if (name !== 'webgpu') name = await ct.init({ backend: 'wasm' });
  } else {
    name = await ct.init({ backend: choice as ct.BackendName });
  }
  badge.textContent = `${name} — ${ct.backendInfo()}${note}`;
  badge.title = badge.textContent;
  return name;
}

// ---------------------------------------------------------------- the function panel

/** Compile the function editor's text: an expression (an arrow function) or a body that returns one. */
function compileFunction(code: string): (...args: ct.Tensor[]) => ct.Tensor {
  let make: (c: typeof ct, n: typeof nn) => unknown;
  try {
    make = new Function('ct', 'nn', `"use strict";\nreturn (\n${code}\n);`) as typeof make;
  } catch {
    try {
      make = new Function('ct', 'nn', `"use strict";\n${code}`) as typeof make;
    } catch (e) {
      throw new Error(`the function does not parse: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const f = make(ct, nn);
  if (typeof f !== 'function') throw new Error('the function editor must hold a function of tensors, e.g. (x) => ct.sum(ct.tanh(x))');
  return f as (...args: ct.Tensor[]) => ct.Tensor;
}

/** The inputs editor's `name = value` statements (a value may continue over the following lines). */
function parseInputs(text: string): { name: string; expr: string; line: number }[] {
  const out: { name: string; expr: string; line: number }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = raw.replace(/^\s*\/\/.*$/, '');
    const m = /^\s*([A-Za-z_$][\w$]*)\s*=(.*)$/.exec(line);
    if (m) out.push({ name: m[1]!, expr: m[2]!, line: i + 1 });
    else if (line.trim() !== '') {
      const last = out[out.length - 1];
      if (!last) throw new Error(`inputs, line ${i + 1}: expected 'name = value', got '${raw.trim()}'`);
      last.expr += `\n${line}`;
    }
  }
  return out;
}

/** An input's value as a tensor of `dtype` (numbers and nested arrays; a tensor is taken as it is). */
function toInput(name: string, expr: string, line: number, dtype: 'f32' | 'f64'): ct.Tensor {
  let v: unknown;
  try {
    v = (new Function('ct', 'nn', `"use strict";\nreturn (\n${expr}\n);`) as (c: typeof ct, n: typeof nn) => unknown)(ct, nn);
  } catch (e) {
    throw new Error(`inputs, line ${line} (${name}): ${e instanceof Error ? e.message : String(e)}`);
  }
  if (v instanceof ct.Tensor) return v;
  if (typeof v === 'number') return ct.scalar(v, { dtype });
  if (Array.isArray(v)) return ct.tensor(v as number[], { dtype });
  throw new Error(`inputs, line ${line} (${name}): expected a number, a nested array of numbers or a tensor, got ${typeof v}`);
}

/** Up to `max` values of a tensor as nested rows, each number with 6 significant digits. */
function formatTensor(values: ArrayLike<number>, shape: readonly number[], max = 400): string {
  const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : Number(v.toPrecision(6)).toString());
  if (shape.length === 0) return fmt(values[0]!);
  const shown = Math.min(values.length, max);
  const rowLen = shape[shape.length - 1]!;
  const rows: string[] = [];
  for (let r = 0; r * rowLen < shown; r++) {
    const row = Array.from({ length: Math.min(rowLen, shown - r * rowLen) }, (_, j) => fmt(values[r * rowLen + j]!).padStart(11));
    rows.push(`[${row.join(' ')}]`);
  }
  return rows.join('\n') + (shown < values.length ? `\n… ${values.length - shown} more` : '');
}

let fnEditor: EditorView;
let inputsEditor: EditorView;
let runCounter = 0;

/** Evaluate the editors: value, gradient and graph; shows an error instead when anything throws. */
async function run(): Promise<void> {
  const id = ++runCounter;
  const code = fnEditor.state.doc.toString();
  const inputsText = inputsEditor.state.doc.toString();
  const precision = ($('precision') as HTMLSelectElement).value === 'f32' ? 'f32' : 'f64';
  const graphOf = ($('graph-of') as HTMLSelectElement).value;
  const status = $('run-status');
  status.textContent = 'running…';
  const t0 = performance.now();
  let result: RunResult;
  try {
    if (precision === 'f32' && backendReady) await backendReady;
    const r = await ct.scopeAsync(async () => {
      const f = compileFunction(code);
      const specs = parseInputs(inputsText);
      if (specs.length === 0) throw new Error('inputs: give one `name = value` line per argument of f');
      if (f.length !== specs.length && f.length > 0)
        throw new Error(
          `f takes ${f.length} argument${f.length === 1 ? '' : 's'} but ${specs.length} input${specs.length === 1 ? ' is' : 's are'} given`,
        );
      const inputs = specs.map((s) => toInput(s.name, s.expr, s.line, precision));
      const argnums = inputs.map((_, i) => i);
      const [value, grads] = ct.valueAndGrad(f, { argnums })(...inputs) as [ct.Tensor, ct.Tensor[]];
      const values = await Promise.all([value.data(), ...grads.map((g) => g.data())]);
      const g =
        graphOf === 'grad' ? ct.makeGraph((...a: ct.Tensor[]) => ct.grad(f, { argnums })(...a), ...inputs) : ct.makeGraph(f, ...inputs);
      const svg = await ct.graphToSvg(g, graphOf === 'grad' ? 'grad_f' : 'f');
      return {
        value: values[0][0]!,
        valueShape: value.shape,
        grads: grads.map((t, i) => ({ name: specs[i]!.name, shape: [...t.shape], dtype: t.dtype, values: Array.from(values[i + 1]!) })),
        eqns: g.eqns.length,
        svg,
      };
    });
    if (id !== runCounter) return; // a newer run is under way
    if (r.valueShape.length !== 0) throw new Error(`f must return a scalar; it returned shape [${r.valueShape.join(', ')}]`);
    $('error').textContent = '';
    const valueEl = $('value');
    valueEl.textContent = formatTensor([r.value], []);
    valueEl.dataset['value'] = String(r.value);
    const gradEl = $('gradient');
    gradEl.replaceChildren(
      ...r.grads.map((g, i) => {
        const div = document.createElement('div');
        div.className = 'out';
        div.id = `grad-${i}`;
        div.dataset['name'] = g.name;
        div.dataset['shape'] = JSON.stringify(g.shape);
        div.dataset['values'] = JSON.stringify(g.values);
        const head = document.createElement('span');
        head.className = 'name';
        head.textContent = `∂f/∂${g.name}  ${g.dtype}[${g.shape.join(',')}]\n`;
        div.append(head, formatTensor(g.values, g.shape));
        return div;
      }),
    );
    $('graph').innerHTML = r.svg;
    $('graph-info').textContent = `${graphOf === 'grad' ? '∇f' : 'f'}: ${r.eqns} equations`;
    const graph = $('graph').querySelector('svg') !== null;
    result = { status: 'ok', code, inputs: inputsText, precision, value: r.value, grads: r.grads, graph };
    status.textContent = `ok in ${(performance.now() - t0).toFixed(0)} ms`;
  } catch (e) {
    if (id !== runCounter) return;
    const msg = e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e);
    $('error').textContent = msg;
    status.textContent = 'error';
    result = { status: 'error', error: msg, code, inputs: inputsText, precision };
  }
  state.lastRun = result;
  state.runs++;
}

let debounce: ReturnType<typeof setTimeout> | undefined;
/** Run again 400 ms after the last edit. */
function schedule(): void {
  clearTimeout(debounce);
  debounce = setTimeout(() => void run(), 400);
}

function makeEditor(parent: HTMLElement, doc: string): EditorView {
  return new EditorView({
    doc,
    parent,
    extensions: [basicSetup, javascript(), EditorView.updateListener.of((u) => u.docChanged && schedule())],
  });
}

// ---------------------------------------------------------------- the train panel

let digits: Promise<{ train: nn.Dataset; test: nn.Dataset }> | null = null;

/** The digits from the served folder (gzipped CSV, decompressed here), split as `digitsSplit` does (80/20, key 0). */
function loadDigits(): Promise<{ train: nn.Dataset; test: nn.Dataset }> {
  digits ??= (async () => {
    const res = await fetch('digits.csv.gz');
    if (!res.ok) throw new Error(`digits.csv.gz: HTTP ${res.status} ${res.statusText}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    // a server may already have undone the gzip (Content-Encoding): decompress only what still starts with gzip's magic
    const text =
      bytes[0] === 0x1f && bytes[1] === 0x8b
        ? await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).text()
        : new TextDecoder().decode(bytes);
    const d = parseCsv(text, 'digits.csv.gz', { scale: 1 / 16, name: 'digits', header: false, exampleShape: [64] });
    if (d.y.length !== 1797) throw new Error(`digits.csv.gz: expected 1797 examples, found ${d.y.length}`);
    return nn.trainTestSplit(d, nn.random.key(0), 0.2);
  })();
  digits.catch(() => (digits = null));
  return digits;
}

let chart: uPlot | null = null;
let stopRequested = false;

function makeChart(): uPlot {
  const el = $('chart');
  el.replaceChildren();
  const opts: uPlot.Options = {
    width: Math.max(320, el.clientWidth - 8),
    height: 300,
    scales: { x: { time: false }, acc: { range: [0, 1] } },
    series: [
      { label: 'step' },
      { label: 'batch loss', stroke: '#d0452f', width: 1.5, scale: 'loss' },
      { label: 'batch accuracy', stroke: '#2f5fd0', width: 1, scale: 'acc' },
      { label: 'test accuracy', stroke: '#2a9d4b', width: 2, scale: 'acc', spanGaps: true, points: { show: true, size: 6 } },
    ],
    axes: [{ label: 'step' }, { scale: 'loss', label: 'loss' }, { scale: 'acc', side: 1, label: 'accuracy', grid: { show: false } }],
  };
  return new uPlot(opts, [[], [], [], []], el);
}

function updateChart(): void {
  if (!chart) return;
  const h = state.history;
  chart.setData([h.map((r) => r.step), h.map((r) => r.loss), h.map((r) => r.accuracy), h.map((r) => r.testAccuracy ?? null)]);
}

const readInt = (id: string, lo: number, hi: number): number => {
  const v = Number(($(id) as HTMLInputElement).value);
  if (!(Number.isInteger(v) && v >= lo && v <= hi)) throw new Error(`${id}: expected an integer in [${lo}, ${hi}], got ${v}`);
  return v;
};

/** Train the MLP 64-hidden-10 with Adam, one jitted step per mini-batch, recording and drawing every step. */
async function train(): Promise<void> {
  const trainBtn = $('train') as HTMLButtonElement;
  const stopBtn = $('stop') as HTMLButtonElement;
  const status = $('train-status');
  const progress = $('train-progress') as HTMLProgressElement;
  const choice = $('train-backend') as HTMLSelectElement;
  trainBtn.disabled = true;
  stopBtn.disabled = false;
  choice.disabled = true;
  stopRequested = false;
  state.history = [];
  state.trainError = undefined;
  state.trainStatus = 'loading';
  status.textContent = 'loading the digits…';
  progress.removeAttribute('value'); // indeterminate while loading
  let step: ReturnType<typeof nn.trainStep<unknown>> | null = null;
  let params: unknown = null;
  let opt: nn.OptState | null = null;
  let lastOut: ct.Tensor[] = [];
  try {
    const hidden = readInt('hidden', 1, 1024);
    const batch = readInt('batch', 1, 1438);
    const steps = readInt('steps', 1, 100_000);
    const lr = Number(($('lr') as HTMLInputElement).value);
    if (!(lr > 0 && Number.isFinite(lr))) throw new Error(`learning rate: expected a positive number, got ${lr}`);
    backendReady = useBackend(choice.value);
    const backend = await backendReady;
    state.trainBackend = backend;
    $('train-backend-used').textContent = backend;
    const { train: data, test } = await loadDigits();
    const model = nn.serial(nn.dense(hidden), nn.relu, nn.dense(10));
    const [k1, k2] = nn.random.split(nn.random.key(0));
    params = model.init(k1!, [-1, 64]).params;
    const optimizer = nn.adam(lr);
    let optState = optimizer.init(params);
    opt = optState;
    const stepFn = nn.trainStep(model as nn.Model<unknown>, nn.softmaxCrossEntropy, optimizer);
    step = stepFn;
    chart = makeChart();
    const n = data.y.length;
    const perEpoch = Math.ceil(n / batch);
    let order: Int32Array = new Int32Array(0);
    state.trainStatus = 'training';
    progress.max = steps;
    progress.value = 0;
    status.textContent = `tracing and compiling the training step on ${backend}…`;
    const t0 = performance.now();
    for (let s = 0; s < steps && !stopRequested; s++) {
      const i = s % perEpoch;
      if (i === 0) order = nn.random.permutationArray(nn.random.foldIn(k2!, Math.floor(s / perEpoch)), n);
      const count = Math.min(batch, n - i * batch);
      const [x, y] = nn.batchTensors(data, i * batch, count, order);
      const r: ReturnType<typeof stepFn> = stepFn(params, optState, x, y); // takes ownership of params and optState (donation)
      x.dispose();
      y.dispose();
      params = r.params;
      optState = r.state;
      opt = optState;
      lastOut = [r.loss, r.correct];
      const [lv, cv] = await Promise.all([r.loss.data(), r.correct.data()]);
      let testAccuracy: number | undefined;
      if (i === perEpoch - 1 || s === steps - 1)
        testAccuracy = (await nn.evaluate(model as nn.Model<unknown>, params, test, { loss: nn.softmaxCrossEntropy })).accuracy;
      const rec: StepRecord = {
        ms: performance.now() - t0,
        step: s + 1,
        loss: lv[0]!,
        accuracy: cv[0]! / count,
        ...(testAccuracy === undefined ? {} : { testAccuracy }),
      };
      state.history.push(rec);
      updateChart();
      progress.value = s + 1;
      $('train-step').textContent = `${s + 1} / ${steps}`;
      $('train-loss').textContent = rec.loss.toFixed(4);
      $('train-acc').textContent = `${(100 * rec.accuracy).toFixed(1)}%`;
      if (testAccuracy !== undefined) $('test-acc').textContent = `${(100 * testAccuracy).toFixed(2)}%`;
      $('train-rate').textContent = ((s + 1) / ((performance.now() - t0) / 1000)).toFixed(1);
      status.textContent = `training: epoch ${Math.floor(s / perEpoch) + 1}, step ${s + 1} of ${steps}`;
      await new Promise((res) => setTimeout(res, 0)); // let the page draw
    }
    state.trainStatus = stopRequested ? 'stopped' : 'done';
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    status.textContent = `${stopRequested ? 'stopped' : 'done'}: ${state.history.length} steps in ${secs} s on ${backend}`;
  } catch (e) {
    const msg = e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e);
    state.trainStatus = 'error';
    state.trainError = msg;
    status.textContent = `error: ${msg}`;
  } finally {
    step?.release();
    for (const t of [...lastOut, ...ct.treeLeaves(params), ...ct.treeLeaves(opt?.slots)]) if (t instanceof ct.Tensor) t.dispose();
    trainBtn.disabled = false;
    choice.disabled = false;
    stopBtn.disabled = true;
  }
}

// ---------------------------------------------------------------- start

fnEditor = makeEditor($('fn-editor'), DEFAULT_FN);
inputsEditor = makeEditor($('inputs-editor'), DEFAULT_INPUTS);
$('run').addEventListener('click', () => void run());
const exampleMenu = $('example') as HTMLSelectElement;
const placeholder = document.createElement('option');
placeholder.value = '';
placeholder.textContent = 'examples…';
exampleMenu.append(
  placeholder,
  ...Object.entries(EXAMPLES).map(([id, ex]) => {
    const o = document.createElement('option');
    o.value = id;
    o.textContent = ex.label;
    return o;
  }),
);
exampleMenu.addEventListener('change', () => {
  const ex = (EXAMPLES as Record<string, Example>)[exampleMenu.value];
  if (!ex) return;
  // both editors at once, then one run (the edits' own debounced run is superseded)
  fnEditor.dispatch({ changes: { from: 0, to: fnEditor.state.doc.length, insert: ex.fn } });
  inputsEditor.dispatch({ changes: { from: 0, to: inputsEditor.state.doc.length, insert: ex.inputs } });
  clearTimeout(debounce);
  exampleMenu.value = ''; // the menu shows 'examples…' again, so that choosing the same example reloads it
  void run();
});
$('precision').addEventListener('change', () => void run());
$('graph-of').addEventListener('change', () => void run());
$('train').addEventListener('click', () => void train());
$('stop').addEventListener('click', () => {
  stopRequested = true;
});
window.addEventListener('resize', () => chart?.setSize({ width: Math.max(320, $('chart').clientWidth - 8), height: 300 }));
backendReady = useBackend('auto');
backendReady.catch((e) => ($('backend').textContent = `none: ${e instanceof Error ? e.message : String(e)}`));
void run();
