/**
 * Puts Dawn's `navigator.gpu` in place for peers that look for it (tfjs-backend-webgpu,
 * jax-js), on the same adapter kind cotangent used: llvmpipe (OpenGL ES,
 * compatibility level), SwiftShader (Vulkan) or the hardware default.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const keep: unknown[] = [];

export async function installDawnNavigator(kind: string): Promise<void> {
  if (!process.env['XDG_RUNTIME_DIR']) {
    const dir = join(tmpdir(), 'cotangent-xdg-bench');
    mkdirSync(dir, { recursive: true });
    process.env['XDG_RUNTIME_DIR'] = dir;
  }
  const opts: string[] = [];
  if (kind === 'llvmpipe') {
    process.env['EGL_PLATFORM'] ??= 'surfaceless';
    opts.push('backend=opengles');
  }
  if (kind === 'swiftshader') {
    process.env['VK_ICD_FILENAMES'] ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
    opts.push('backend=vulkan');
  }
  const { create, globals } = (await import('webgpu')) as unknown as {
    create: (o: string[]) => { requestAdapter: (o?: object) => Promise<unknown> };
    globals: object;
  };
  Object.assign(globalThis, globals);
  const gpu = create(opts);
  keep.push(gpu);
  const request = gpu.requestAdapter.bind(gpu);
  const nav = {
    gpu: {
      requestAdapter: (o: object = {}) => request(kind === 'llvmpipe' ? { ...o, featureLevel: 'compatibility' } : o),
      getPreferredCanvasFormat: () => 'rgba8unorm',
    },
    userAgent: `Node.js/${process.versions.node}`,
  };
  Object.defineProperty(globalThis, 'navigator', { value: nav, configurable: true, writable: true });
}
