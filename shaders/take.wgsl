// take along one axis: out[o, j, i] = x[o, idx[j], i], x seen as [outer, n, inner], the indices as a
// flat list of m positions (negative ones count from the end). One thread per output element. An index
// outside [-n, n) reads 0 (the indices stay on the GPU, so the host cannot check them).
// Placeholders: T (element type). Meta layout: [0] output elements, [1] n, [2] m, [3] inner.
@group(0) @binding(1) var<storage, read> x: array<{{T}}>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<{{T}}>;

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
  let o = r / cnt;
  let j = r - o * cnt;
  let k = axis_index(idx[j], n);
  if (k == n) {
    out[e] = {{T}}(0);
    return;
  }
  out[e] = x[(o * n + k) * inner + i];
}
