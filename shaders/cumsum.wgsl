// cumsum along one axis: the running sum of each line, one thread per line.
// The input is seen as [outer, len, inner]; line q = (o, i) is
// x[(o·len + k)·inner + i], k < len, summed from k = 0 (REVERSE: from k = len - 1),
// starting from the first element itself (so -0 stays -0), one addition per
// element in line order (as the CPU and wasm kernels do; i32 wraps).
// Placeholders: T. Meta layout: [0] n_lines, [1] len (≥ 1), [2] inner, [3] reverse (0 or 1).
@group(0) @binding(1) var<storage, read> x: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> out: array<{{T}}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let q = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (q >= m(0u)) {
    return;
  }
  let len = m(1u);
  let inner = m(2u);
  let o = q / inner;
  let i = q % inner;
  var p = o * len * inner + i;
  var step = i32(inner);
  if (m(3u) != 0u) {
    p += (len - 1u) * inner;
    step = -step;
  }
  var acc = x[p];
  out[p] = acc;
  for (var k = 1u; k < len; k++) {
    p = u32(i32(p) + step);
    acc += x[p];
    out[p] = acc;
  }
}
