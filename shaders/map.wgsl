// The strided map family: every elementwise and data-movement primitive.
//   out[o_off + Σ idx·o_str] = EXPR(x0[x0_off + Σ idx·x0_str], x1[...], ...)
// over an iteration shape of rank RANK (dims collapsed on the host). Unary
// maths, broadcasting binary ops, where, cast, transpose, broadcastTo, slice,
// pad and concat (strided writes) and user elementwise kernels are all this
// one kernel with a different expression, operand count and strides.
// Host-filled placeholders: RANK, NOPS (1 + inputs), BINDINGS (x0.. and out),
// LOADS (`let xk: Tk = xk_buf[off[k+1]];`), OUT_T, EXPR, PRELUDE, DIVMOD (the
// index division, src/backends/webgpu/mapKernel.ts).
// Meta layout: [0] n, then shape[RANK], then for operand k (0 = out, 1.. = inputs):
// offset, strides[RANK].
{{BINDINGS}}

{{PRELUDE}}

{{DIVMOD}}

const RANK: u32 = {{RANK}}u;
const NOPS: u32 = {{NOPS}}u;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= m(0u)) {
    return;
  }
  var off: array<u32, NOPS>;
  for (var k = 0u; k < NOPS; k++) {
    off[k] = m(1u + RANK + k * (RANK + 1u));
  }
  var rem = i;
  for (var d = RANK; d > 0u; d--) {
    let dim = m(d);
    let qr = index_divmod(rem, dim);
    let idx = qr.y;
    rem = qr.x;
    for (var k = 0u; k < NOPS; k++) {
      off[k] += idx * m(1u + RANK + k * (RANK + 1u) + d);
    }
  }
{{LOADS}}
  out[off[0]] = {{OUT_T}}({{EXPR}});
}
