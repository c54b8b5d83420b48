// argsort along one axis: the indices that sort each line ascending, stable
// (equal values keep their index order), NaN after every number (NaNs in index
// order). One thread per element: element k of a line goes to position
// rank(k) = #{j : x_j before x_k, or x_j ties x_k and j < k}, where a number
// comes before a NaN and numbers compare by <; out[position] = k. O(len²) per
// line, deterministic, no workgroup memory.
// The input is seen as [outer, len, inner]; element e = (o, k, i).
// Placeholders: T, NAN_CHECK (an expression in `v`). Meta layout: [0] n, [1] len, [2] inner.
@group(0) @binding(1) var<storage, read> x: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;

fn nan_of(v: {{T}}) -> bool {
  return {{NAN_CHECK}};
}

// whether u comes strictly before v
fn before(u: {{T}}, v: {{T}}) -> bool {
  if (nan_of(v)) {
    return !nan_of(u);
  }
  return u < v;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (e >= m(0u)) {
    return;
  }
  let len = m(1u);
  let inner = m(2u);
  let i = e % inner;
  let k = (e / inner) % len;
  let o = e / (inner * len);
  let base = o * len * inner + i;
  let v = x[e];
  var rank = 0u;
  for (var j = 0u; j < len; j++) {
    let u = x[base + j * inner];
    if (before(u, v) || (j < k && !before(v, u))) {
      rank++;
    }
  }
  out[base + rank * inner] = i32(k);
}
