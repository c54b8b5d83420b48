// The flat elementwise family: the fast path of the strided map (map.wgsl)
// and of the fused elementwise kernels (fused.wgsl) when every operand either
// walks the iteration space contiguously from its own offset or is a single
// scalar. Thread i then handles element i (or, when the element count and the
// offsets are multiples of 4, the quad 4i..4i+3 through vec4 loads and
// stores) with no per-element index arithmetic: no integer division, which
// software adapters run lane by lane.
// Host-filled placeholders: BINDINGS (inputs read-only, outputs read-write;
// vec4 arrays for contiguous operands of the quad form, scalar arrays for the
// scalar operands), PRELUDE (helper functions), BODY (loads at `i` plus the
// operand's offset, the computation and the stores).
// Meta layout: [0] n (threads that do work: elements, or quads), then the
// operands' offsets (in elements of their binding) where the host uses them.
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
