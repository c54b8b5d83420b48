// The reduction family: sum and max over any set of axes. Each output cell
// folds the input elements of its reduced sub-block with COMBINE from INIT.
// Entry `rows`: one workgroup per output cell, a strided partial fold per
// thread, then a tree reduction in workgroup memory. Entry `serial`: one
// thread per output cell, 64 per workgroup (used when the reduced block is
// small, when there are many cells, and on software adapters whenever the
// cells fill a few workgroups: their barriers cost more than the tree saves,
// and neighbouring threads read neighbouring columns of a leading-axis sum).
// Placeholders: T, INIT, COMBINE (an expression in `a` and `b`), KR / RR
// (kept / reduced rank after collapsing), DIVMOD (the index division,
// src/backends/webgpu/mapKernel.ts).
// Meta layout: [0] n_out, [1] n_red, then kept shape[KR], kept strides[KR],
// reduced shape[RR], reduced strides[RR] (strides in input elements).
@group(0) @binding(1) var<storage, read> x: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> out: array<{{T}}>;

{{DIVMOD}}

const KR: u32 = {{KR}}u;
const RR: u32 = {{RR}}u;

fn combine(a: {{T}}, b: {{T}}) -> {{T}} {
  return {{COMBINE}};
}

fn base_of(cell: u32) -> u32 {
  if (KR == 1u) {
    return cell * m(2u + KR);
  }
  var rem = cell;
  var off = 0u;
  for (var d = KR; d > 0u; d--) {
    let dim = m(1u + d);
    let qr = index_divmod(rem, dim);
    off += qr.y * m(1u + KR + d);
    rem = qr.x;
  }
  return off;
}

fn red_off(j: u32) -> u32 {
  // one reduced dim (a leading- or trailing-axis sum): no division per element
  if (RR == 1u) {
    return j * m(2u + 2u * KR + RR);
  }
  var rem = j;
  var off = 0u;
  for (var d = RR; d > 0u; d--) {
    let dim = m(1u + 2u * KR + d);
    let qr = index_divmod(rem, dim);
    off += qr.y * m(1u + 2u * KR + RR + d);
    rem = qr.x;
  }
  return off;
}

var<workgroup> partial: array<{{T}}, 256>;

@compute @workgroup_size(256)
fn rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let cell = wid.y * nwg.x + wid.x;
  let n_red = m(1u);
  var acc: {{T}} = {{INIT}};
  if (cell < m(0u)) {
    let base = base_of(cell);
    for (var j = lid; j < n_red; j += 256u) {
      acc = combine(acc, x[base + red_off(j)]);
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) {
      partial[lid] = combine(partial[lid], partial[lid + s]);
    }
    workgroupBarrier();
  }
  if (lid == 0u && cell < m(0u)) {
    out[cell] = partial[0];
  }
}

@compute @workgroup_size(64)
fn serial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let cell = (wid.y * nwg.x + wid.x) * 64u + lid;
  if (cell >= m(0u)) {
    return;
  }
  let base = base_of(cell);
  var acc: {{T}} = {{INIT}};
  let n_red = m(1u);
  for (var j = 0u; j < n_red; j++) {
    acc = combine(acc, x[base + red_off(j)]);
  }
  out[cell] = acc;
}
