// scatter-add along one axis through the indices sorted by position, for calls with many indices:
// out = x with upd[o, j, i] added at out[o, idx[j], i] (x seen as [outer, n, inner], upd as
// [outer, m, inner], negative indices counting from the end). The output buffer holds, past its
// `count` elements, a scratch area of 2·m words: the index positions j sorted by (key, j) and their
// keys (key = the index made non-negative; n for an out-of-range one, which no element matches).
// Entry `rank`: one thread per index j computes its place in that order by counting (O(m) per thread,
// no atomics) and writes j and its key there. Entry `gather`: one thread per output element finds the
// run of its key by binary search and adds the updates of the run in increasing j, so every element
// gets the same sums in the same order as the CPU reference, deterministically. The buffer is bound
// as u32 words; values are stored through bitcast (exact).
// Placeholders: T (element type). Meta layout: [0] count (output elements), [1] n, [2] m, [3] inner.
@group(0) @binding(1) var<storage, read> x: array<{{T}}>;
@group(0) @binding(2) var<storage, read> upd: array<{{T}}>;
@group(0) @binding(3) var<storage, read> idx: array<i32>;
@group(0) @binding(4) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(256)
fn rank(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let j = (wid.y * nwg.x + wid.x) * 256u + lid;
  let cnt = m(2u);
  if (j >= cnt) {
    return;
  }
  let n = m(1u);
  let k = axis_index(idx[j], n);
  var r = 0u;
  for (var q = 0u; q < cnt; q++) {
    let kq = axis_index(idx[q], n);
    if (kq < k || (kq == k && q < j)) {
      r++;
    }
  }
  let base = m(0u);
  out[base + r] = j;
  out[base + cnt + r] = k;
}

@compute @workgroup_size(256)
fn gather(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e = (wid.y * nwg.x + wid.x) * 256u + lid;
  let count = m(0u);
  if (e >= count) {
    return;
  }
  let n = m(1u);
  let cnt = m(2u);
  let inner = m(3u);
  let r = e / inner;
  let i = e - r * inner;
  let o = r / n;
  let k = r - o * n;
  let keys = count + cnt;
  // the first sorted position whose key is ≥ k
  var lo = 0u;
  var hi = cnt;
  while (lo < hi) {
    let mid = (lo + hi) / 2u;
    if (out[keys + mid] < k) {
      lo = mid + 1u;
    } else {
      hi = mid;
    }
  }
  var acc = x[e];
  let base = o * cnt * inner + i;
  for (var p = lo; p < cnt && out[keys + p] == k; p++) {
    acc += upd[base + out[count + p] * inner];
  }
  out[e] = bitcast<u32>(acc);
}
