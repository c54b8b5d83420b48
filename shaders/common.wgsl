// Shared by every kernel family: the per-dispatch parameter block (a uniform
// slot of 128 u32 written by the host: sizes, shapes, strides, offsets) and
// its accessor. Included at the top of each family.
struct Meta {
  v: array<vec4<u32>, 32>,
}
@group(0) @binding(0) var<uniform> params: Meta;

fn m(i: u32) -> u32 {
  return params.v[i >> 2u][i & 3u];
}

// IEEE special values (WGSL has no literals for them, and rejects them in
// constant expressions, so they are built at run time from a variable).
fn f32_inf() -> f32 {
  var bits = 0x7f800000u;
  return bitcast<f32>(bits);
}
fn f32_nan() -> f32 {
  var bits = 0x7fc00000u;
  return bitcast<f32>(bits);
}
fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// Batched matmul kernels (matmul.wgsl, matmul_registers.wgsl): the batch
// indices of A and B for output batch `batch`, through the batch shape and the
// broadcast strides in the parameter block (Meta [5..5+br) shape,
// [5+br..) A strides, [5+2br..) B strides; 0 on broadcast dims).
fn matmul_batch_bases(batch: u32, br: u32) -> vec2<u32> {
  var bases = vec2<u32>(0u, 0u);
  var rem = batch;
  for (var d = br; d > 0u; d--) {
    let dim = m(4u + d);
    let idx = rem % dim;
    rem = rem / dim;
    bases += idx * vec2<u32>(m(4u + br + d), m(4u + 2u * br + d));
  }
  return bases;
}

// Indexing kernels (take.wgsl, scatter_add.wgsl, scatter_add_sorted.wgsl): the index `k` into an axis of
// `n` made non-negative (a negative one counts from the end), or `n` when it is outside [-n, n) (an index
// the host could not check: it matches no element).
fn axis_index(k: i32, n: u32) -> u32 {
  var q = k;
  if (q < 0) {
    q += i32(n);
  }
  if (q < 0 || q >= i32(n)) {
    return n;
  }
  return u32(q);
}
