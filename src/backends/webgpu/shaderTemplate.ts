/**
 * Shader templates: a kernel family from shaders/*.wgsl, prefixed with the
 * shared `common` block, with its {{PLACEHOLDERS}} filled in. Unfilled or
 * unknown placeholders are errors, so a family and its host code cannot drift.
 */
import { shaderSources } from './shaderSources.js';

export function instantiate(family: string, values: Readonly<Record<string, string | number>>): string {
  const src = shaderSources[family];
  if (src === undefined) throw new Error(`webgpu: no shader family '${family}' in shaders/`);
  const used = new Set<string>();
  const body = src.replace(/\{\{([A-Z_0-9]+)\}\}/g, (_, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`webgpu: shader family '${family}' needs a value for {{${key}}}`);
    used.add(key);
    return String(v);
  });
  for (const k of Object.keys(values)) {
    if (!used.has(k)) throw new Error(`webgpu: shader family '${family}' has no placeholder {{${k}}}`);
  }
  return `${shaderSources['common']}\n${body}`;
}
