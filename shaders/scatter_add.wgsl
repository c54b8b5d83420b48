// scatter-add along one axis: out = x with upd[o, j, i] added at out[o, idx[j], i], x seen as
// [outer, n, inner], the indices a flat list of m positions (negative ones count from the end), upd
// [outer, m, inner]. One thread per OUTPUT element, which scans every index and adds the updates that
// land on it in index order: no atomics (WGSL has none for f32), deterministic, and the same sums in the
// same order as the CPU reference. An index outside [-n, n) matches no element: its update is dropped.
// Placeholders: T (element type). Meta layout: [0] output elements, [1] n, [2] m, [3] inner.
@group(0) @binding(1) var<storage, read> x: array<{{T}}>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read> upd: array<{{T}}>;
@group(0) @binding(4) var<storage, read_write> out: array<{{T}}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (e >= m(0u)) {
    return;
  }
  let n = m(1u);
  let cnt = m(2u);
  let inner = m(3u);
  let r = e / inner;
  let i = e - r * inner;
  let o = r / n;
  let k = r - o * n;
  var acc = x[e];
  let base = o * cnt * inner + i;
  for (var j = 0u; j < cnt; j++) {
    if (axis_index(idx[j], n) == k) {
      acc += upd[base + j * inner];
    }
  }
  out[e] = acc;
}
