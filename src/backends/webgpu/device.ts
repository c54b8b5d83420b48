/**
 * Getting a WebGPU device. In a browser: `navigator.gpu`. In Node: the
 * `webgpu` npm package (Dawn), whose `create()` object is kept reachable for
 * the device's whole life (Dawn crashes if it is collected). Software adapters
 * for machines without a GPU: Mesa llvmpipe through OpenGL ES
 * (compatibility level) and SwiftShader through Vulkan. No adapter is an
 * error that says how to get one; nothing falls back to the CPU.
 */

/** Which adapter to ask for: 'auto' tries a hardware adapter, then llvmpipe, then SwiftShader. */
export type AdapterChoice = 'auto' | 'hardware' | 'llvmpipe' | 'swiftshader';

/** WebGPU device options: the adapter to ask for, the power preference and extra Dawn toggles (Node). */
export interface WebGpuOptions {
  /** Default: the COTANGENT_WEBGPU_ADAPTER environment variable (Node), else 'auto'. */
  adapter?: AdapterChoice;
  powerPreference?: 'low-power' | 'high-performance';
  /** Extra Dawn toggles/options for `create()` (Node only). */
  dawnOptions?: string[];
}

/** A WebGPU device with the kind and name of its adapter. */
export interface AcquiredDevice {
  readonly device: GPUDevice;
  /** Which kind of adapter was taken (what 'auto' resolved to). */
  readonly kind: Exclude<AdapterChoice, 'auto'>;
  readonly adapterName: string;
  readonly featureLevel: string;
  /** Kept reachable for the device's life (Dawn's `gpu` object in Node). */
  readonly keepAlive: unknown;
}

/** Where the SwiftShader Vulkan driver description is looked for. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** What the error of a missing adapter says about getting a software one. */
export const NO_ADAPTER_HELP = [
  'To run WebGPU without a GPU:',
  '  - Node on Debian: `bash scripts/setup-software-gpu.sh` as root (installs Mesa llvmpipe and SwiftShader),',
  "    then init({ backend: 'webgpu', webgpu: { adapter: 'llvmpipe' } }) (or 'swiftshader'), or set COTANGENT_WEBGPU_ADAPTER=llvmpipe;",
  '  - Chromium: start it with --enable-unsafe-webgpu --enable-unsafe-swiftshader (headless works).',
  "Or use the CPU backend: init({ backend: 'cpu' }).",
].join('\n');

interface GpuLike {
  requestAdapter(o?: GPURequestAdapterOptions & { featureLevel?: string }): Promise<GPUAdapter | null>;
}

const keep: unknown[] = [];

const isNode = (): boolean => typeof process !== 'undefined' && !!process.versions?.node;

function envChoice(): AdapterChoice | undefined {
  if (!isNode()) return undefined;
  const v = process.env['COTANGENT_WEBGPU_ADAPTER'];
  if (v === undefined || v === '') return undefined;
  if (v === 'auto' || v === 'hardware' || v === 'llvmpipe' || v === 'swiftshader') return v;
  throw new Error(`init: COTANGENT_WEBGPU_ADAPTER='${v}' is not one of auto, hardware, llvmpipe, swiftshader`);
}

async function nodeEnvFor(choice: AdapterChoice): Promise<void> {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  if (!process.env['XDG_RUNTIME_DIR']) {
    const dir = path.join(os.tmpdir(), `cotangent-xdg-${process.getuid?.() ?? 0}`);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env['XDG_RUNTIME_DIR'] = dir;
  }
  if (choice === 'llvmpipe' && !process.env['EGL_PLATFORM']) process.env['EGL_PLATFORM'] = 'surfaceless';
  if (choice === 'swiftshader' && !process.env['VK_ICD_FILENAMES'] && fs.existsSync(SWIFTSHADER_ICD))
    process.env['VK_ICD_FILENAMES'] = SWIFTSHADER_ICD;
}

async function nodeGpu(choice: AdapterChoice, extra: readonly string[]): Promise<GpuLike> {
  await nodeEnvFor(choice);
  const name = 'webgpu';
  let mod: { create: (o: string[]) => GpuLike };
  try {
    mod = (await import(/* @vite-ignore */ name)) as typeof mod;
  } catch (e) {
    throw new Error(`init: the WebGPU backend in Node needs the 'webgpu' npm package (Dawn): npm install webgpu (${(e as Error).message})`);
  }
  const opts = [...extra];
  if (choice === 'llvmpipe') opts.push('backend=opengles');
  if (choice === 'swiftshader') opts.push('backend=vulkan');
  const gpu = mod.create(opts);
  keep.push(gpu);
  return gpu;
}

async function adapterFor(choice: Exclude<AdapterChoice, 'auto'>, o: WebGpuOptions): Promise<{ adapter: GPUAdapter; gpu: unknown } | null> {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  let gpu: GpuLike;
  if (nav?.gpu && (!isNode() || choice === 'hardware')) gpu = nav.gpu;
  else if (isNode()) gpu = await nodeGpu(choice, o.dawnOptions ?? []);
  else return null;
  const req: GPURequestAdapterOptions & { featureLevel?: string } = {};
  if (o.powerPreference) req.powerPreference = o.powerPreference;
  if (choice === 'llvmpipe') req.featureLevel = 'compatibility';
  const adapter = await gpu.requestAdapter(req);
  if (!adapter) return null;
  const desc = describeAdapter(adapter);
  if (choice === 'hardware' && isNode() && /swiftshader|llvmpipe|software/i.test(desc)) return null;
  return { adapter, gpu };
}

/** An adapter as text: vendor / architecture / device / description. */
export function describeAdapter(adapter: GPUAdapter): string {
  const i = adapter.info;
  const parts = [i?.vendor, i?.architecture, i?.device, i?.description].filter((s): s is string => !!s);
  return parts.join(' / ') || 'unknown adapter';
}

/**
 * A WebGPU device from the chosen adapter ('auto': hardware, then llvmpipe, then SwiftShader in Node);
 * an error saying how to get one when none is found.
 */
export async function acquireDevice(o: WebGpuOptions = {}): Promise<AcquiredDevice> {
  const choice = o.adapter ?? envChoice() ?? 'auto';
  const order: Exclude<AdapterChoice, 'auto'>[] =
    choice === 'auto' ? (isNode() ? ['hardware', 'llvmpipe', 'swiftshader'] : ['hardware']) : [choice];
  const tried: string[] = [];
  for (const c of order) {
    let found: { adapter: GPUAdapter; gpu: unknown } | null = null;
    try {
      found = await adapterFor(c, o);
    } catch (e) {
      if (order.length === 1) throw e;
      tried.push(`${c}: ${(e as Error).message}`);
      continue;
    }
    if (!found) {
      tried.push(`${c}: no adapter`);
      continue;
    }
    const { adapter, gpu } = found;
    const l = adapter.limits;
    const want = (name: keyof GPUSupportedLimits, v: number): Record<string, number> => ((l[name] as number) >= v ? { [name]: v } : {});
    const requiredLimits: Record<string, number> = {
      ...want('maxComputeInvocationsPerWorkgroup', 256),
      ...want('maxComputeWorkgroupSizeX', 256),
      ...want('maxStorageBuffersPerShaderStage', Math.min(l.maxStorageBuffersPerShaderStage, 10)),
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
    };
    if (l.maxComputeInvocationsPerWorkgroup < 256) {
      throw new Error(
        `init: the WebGPU adapter '${describeAdapter(adapter)}' allows only ${l.maxComputeInvocationsPerWorkgroup} invocations ` +
          `per workgroup; cotangent's kernels need 256`,
      );
    }
    const device = await adapter.requestDevice({ requiredLimits });
    const featureLevel = (adapter as { featureLevel?: string }).featureLevel ?? (c === 'llvmpipe' ? 'compatibility' : 'core');
    const name = describeAdapter(adapter);
    const kind = /swiftshader/i.test(name) ? 'swiftshader' : /llvmpipe/i.test(name) ? 'llvmpipe' : c;
    return { device, kind, adapterName: name, featureLevel, keepAlive: gpu };
  }
  throw new Error(`init: no WebGPU adapter is available (tried ${tried.join('; ')}).\n${NO_ADAPTER_HELP}`);
}
