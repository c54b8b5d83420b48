// The fused elementwise family: one kernel per fusion group that `jit` hands
// the backend (src/backends/fused.ts). Each thread computes one element i of
// the group's iteration space: it walks the collapsed shape once to find each
// input's broadcast offset, computes the group's nodes as `let` values (each
// converted to its node's type, as the unfused kernels store it) and stores
// every output at i (outputs are contiguous).
// The source depends on the nodes and dtypes only: the shape, its rank and the
// inputs' strides come from the parameter block, so one pipeline serves a
// group at every shape.
// Host-filled placeholders: BINDINGS (in0.. read-only, out0.. read-write),
// PRELUDE (the helper functions the nodes call), OFFSETS (`var ok = 0u;` per
// input), STEPS (`ok += idx * stride_k[d]` per input), BODY (the nodes and the
// stores), DIVMOD (the index division, src/backends/webgpu/mapKernel.ts).
// Meta layout: [0] n, [1] rank, [2..2+rank) shape, then input k's strides at
// [2 + rank·(k+1) .. 2 + rank·(k+2)).
{{BINDINGS}}

{{PRELUDE}}

{{DIVMOD}}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= m(0u)) {
    return;
  }
  let rank = m(1u);
{{OFFSETS}}
  var rem = i;
  for (var d = rank; d > 0u; d--) {
    let dim = m(1u + d);
    let qr = index_divmod(rem, dim);
    let idx = qr.y;
    rem = qr.x;
{{STEPS}}
  }
{{BODY}}
}
