// argsort along one axis: the indices that sort each line ascending, stable (equal values keep their index
// order), NaN after every number (NaNs in index order): a number comes before a NaN, numbers compare by <.
// The input is seen as [outer, len, inner]; element e = (o, k, i). Two entry points:
// - `rank`, for short lines: one thread per element; element k of a line goes to position
//   rank(k) = #{j : x_j before x_k, or x_j ties x_k and j < k}; idx[position] = k. O(len²) per line,
//   deterministic, no workgroup memory. Meta layout: [0] n, [1] len, [2] inner.
// - `merge`, for long lines: one pass per run width w = 1, 2, 4, ...; in a pass every element finds its
//   place in the merge of its run with the sibling run (the run of width w next to it in the same pair) by a
//   binary search of that sorted run: an element of the left run goes after the sibling elements that come
//   strictly before it, an element of the right run after the sibling elements that come before it or tie
//   with it, so the merge is stable. ⌈log₂ len⌉ passes of one thread per element. The indices ping-pong
//   between the two halves of one buffer laid out as the input; the first pass reads the identity.
//   Meta layout: [0] n, [1] len, [2] inner, [3] width, [4] source half offset, [5] destination half offset.
// Placeholders: T, NAN_CHECK (an expression in `v`).
@group(0) @binding(1) var<storage, read> x: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> idx: array<i32>;

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
fn rank(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
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
  var place = 0u;
  for (var j = 0u; j < len; j++) {
    let u = x[base + j * inner];
    if (before(u, v) || (j < k && !before(v, u))) {
      place++;
    }
  }
  idx[base + place * inner] = i32(k);
}

@compute @workgroup_size(256)
fn merge(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (e >= m(0u)) {
    return;
  }
  let len = m(1u);
  let inner = m(2u);
  let w = m(3u);
  let src = m(4u);
  let dst = m(5u);
  let i = e % inner;
  let k = (e / inner) % len;
  let base = (e / (inner * len)) * len * inner + i;
  var me = i32(k);
  if (w > 1u) {
    me = idx[src + e];
  }
  let v = x[base + u32(me) * inner];
  let run = k / w;
  let start = run * w;
  let left = (run & 1u) == 0u;
  var lo = start + w;
  var pair = start;
  if (!left) {
    lo = start - w;
    pair = lo;
  }
  let hi = min(lo + w, len);
  // the number of sibling elements placed before this one: a prefix of the sorted sibling run
  var a = min(lo, len);
  var b = hi;
  while (a < b) {
    let mid = (a + b) / 2u;
    var j = i32(mid);
    if (w > 1u) {
      j = idx[src + base + mid * inner];
    }
    let u = x[base + u32(j) * inner];
    var first = before(u, v);
    if (!left) {
      first = !before(v, u);
    }
    if (first) {
      a = mid + 1u;
    } else {
      b = mid;
    }
  }
  let pos = pair + (k - start) + (a - min(lo, len));
  idx[dst + base + pos * inner] = me;
}
