/**
 * The compute pipeline cache, keyed by kernel family, specialisation
 * (types, rank, expression) and entry point. Every kernel uses one binding convention, so one explicit bind group
 * layout per input and output count serves them all:
 *   binding 0: uniform parameter slot (`Meta`, at a dynamic offset), bindings 1..n: the n inputs
 *   (read-only storage), bindings n+1..n+m: the m outputs (read-write storage; one for every kernel
 *   but the fused ones).
 */
export class PipelineCache {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly layouts = new Map<string, { group: GPUBindGroupLayout; pipeline: GPUPipelineLayout }>();

  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.pipelines.size;
  }

  layout(inputs: number, outputs = 1): { group: GPUBindGroupLayout; pipeline: GPUPipelineLayout } {
    const key = `${inputs}/${outputs}`;
    let l = this.layouts.get(key);
    if (!l) {
      const entries: GPUBindGroupLayoutEntry[] = [
        { binding: 0, visibility: 4 /* COMPUTE */, buffer: { type: 'uniform', hasDynamicOffset: true } },
      ];
      for (let i = 0; i < inputs; i++) entries.push({ binding: i + 1, visibility: 4, buffer: { type: 'read-only-storage' } });
      for (let j = 0; j < outputs; j++) entries.push({ binding: inputs + 1 + j, visibility: 4, buffer: { type: 'storage' } });
      const group = this.device.createBindGroupLayout({ entries });
      l = { group, pipeline: this.device.createPipelineLayout({ bindGroupLayouts: [group] }) };
      this.layouts.set(key, l);
    }
    return l;
  }

  /** The pipeline for `key` (which must determine the source); `source` runs only on a miss. */
  get(key: string, source: () => string, entryPoint: string, inputs: number, label: string, outputs = 1): GPUComputePipeline {
    const k = `${inputs}/${outputs}|${entryPoint}|${key}`;
    let p = this.pipelines.get(k);
    if (!p) {
      const module = this.device.createShaderModule({ code: source(), label });
      p = this.device.createComputePipeline({ layout: this.layout(inputs, outputs).pipeline, compute: { module, entryPoint }, label });
      this.pipelines.set(k, p);
    }
    return p;
  }
}
