// cumsum along one axis, one workgroup per line (for long lines): the line is
// cut into 256 contiguous chunks, one per thread; each thread sums its chunk,
// the workgroup scans the 256 chunk sums (Hillis–Steele in workgroup memory),
// and each thread writes its chunk's running sums from the sum of the chunks
// before it. Thread 0's chunk starts from the line's first element itself (so
// -0 stays -0); f32 sums are grouped by chunk (a different rounding from the
// sequential order, within the accumulated rounding of either), i32 wraps.
// The input is seen as [outer, len, inner]; line q = (o, i), REVERSE scans from k = len - 1.
// Placeholders: T. Meta layout: [0] n_lines, [1] len, [2] inner, [3] reverse (0 or 1).
@group(0) @binding(1) var<storage, read> x: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> out: array<{{T}}>;

var<workgroup> part: array<{{T}}, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let q = wid.y * nwg.x + wid.x;
  if (q >= m(0u)) {
    return;
  }
  let len = m(1u);
  let inner = m(2u);
  let base = (q / inner) * len * inner + q % inner;
  var at = i32(base);
  var step = i32(inner);
  if (m(3u) != 0u) {
    at += i32((len - 1u) * inner);
    step = -step;
  }
  let chunk = (len + 255u) / 256u;
  let start = min(lid * chunk, len);
  let end = min(start + chunk, len);
  var s = {{T}}(0);
  for (var k = start; k < end; k++) {
    s += x[u32(at + i32(k) * step)];
  }
  part[lid] = s;
  workgroupBarrier();
  for (var off = 1u; off < 256u; off <<= 1u) {
    var v = {{T}}(0);
    if (lid >= off) {
      v = part[lid - off];
    }
    workgroupBarrier();
    part[lid] += v;
    workgroupBarrier();
  }
  if (start < end) {
    var p = u32(at + i32(start) * step);
    var acc = x[p];
    if (lid > 0u) {
      acc = part[lid - 1u] + acc;
    }
    out[p] = acc;
    for (var k = start + 1u; k < end; k++) {
      p = u32(at + i32(k) * step);
      acc += x[p];
      out[p] = acc;
    }
  }
}
