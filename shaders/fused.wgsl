// The fused elementwise family: one kernel per fusion group that `jit` hands
// the backend (src/backends/fused.ts). Each thread computes one element i of
// the group's iteration space: it unravels i over the collapsed shape once to
// find each input's broadcast offset, computes the group's nodes as `let`
// values (each converted to its node's type, as the unfused kernels store it)
// and stores every output at i (outputs are contiguous). The flat form,
// fused_flat.wgsl, takes the groups whose inputs are all contiguous or
// scalars.
// The source depends on the nodes, dtypes and the collapsed rank only: the
// shape and the inputs' strides come from the parameter block, so one
// pipeline serves a group at every shape of that rank.
// Host-filled placeholders: BINDINGS (in0.. read-only, out0.. read-write),
// PRELUDE (the helper functions the nodes call), DIVMOD (the index division,
// src/backends/webgpu/mapKernel.ts), INDEX (straight-line code: the
// multi-index of i, then each input's offset `ok`), BODY (the nodes and the
// stores).
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
{{INDEX}}
{{BODY}}
}
