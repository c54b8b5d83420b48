// The flat elementwise family: the fast path of the strided map (map.wgsl)
// and of the fused elementwise kernels (fused.wgsl) when every operand either
// walks the iteration space contiguously from its own offset or is a single
// scalar. Thread i then handles element i (or, when the element count and the
// offsets are multiples of 4, the quad 4i..4i+3 through vec4 loads and
// stores) with no per-dimension index arithmetic (software adapters run
// integer division lane by lane). The 'rows' form: a [rows, cols] space with
// cols a multiple of 4, every operand contiguous along the row (vec4) or one
// value per row or overall (a broadcast bias, a scalar): thread i handles
// quad i, its row and column found once (index_divmod).
// Host-filled placeholders: BINDINGS (inputs read-only, outputs read-write;
// vec4 arrays for contiguous operands of the quad forms, scalar arrays for
// the others), PRELUDE (helper functions), BODY (the row and column, loads at
// each operand's index, the computation and the stores;
// src/backends/webgpu/mapKernel.ts, flatAddressing).
// Meta layout: [0] threads that do work (elements, or quads), [1] quads per
// row ('rows'), then per operand k at 2 + 2k its offset and row stride, in
// elements of its binding.
{{BINDINGS}}

{{PRELUDE}}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= m(0u)) {
    return;
  }
{{BODY}}
}
