// The strided map family: every elementwise and data-movement primitive.
//   out[o_off + Σ idx·o_str] = EXPR(x0[x0_off + Σ idx·x0_str], x1[...], ...)
// over an iteration shape of rank RANK (dims collapsed on the host). Unary
// maths, broadcasting binary ops, where, cast, transpose, broadcastTo, slice,
// pad and concat (strided writes) and user elementwise kernels are all this
// one kernel with a different expression, operand count and strides (the
// flat form, fused_flat.wgsl, takes the operands that are all contiguous or
// scalars).
// Host-filled placeholders: BINDINGS (x0.. and out), PRELUDE, DIVMOD (the
// index division, src/backends/webgpu/mapKernel.ts), INDEX (straight-line code
// for the RANK dims: the multi-index of element i by index_divmod, then each
// operand's offset `ok` with k = 0 the output and 1.. the inputs), LOADS
// (`let xk: Tk = ink[o(k+1)];`), OUT_T, EXPR.
// Meta layout: [0] n, then shape[RANK], then for operand k (0 = out, 1.. = inputs):
// offset, strides[RANK].
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
{{LOADS}}
  out[o0] = {{OUT_T}}({{EXPR}});
}
