// argmax along one axis: the index of the first maximum (a NaN counts as the
// maximum, the first NaN wins). The input is seen as [outer, len, inner];
// output cell c = (o, i) scans x[(o·len + k)·inner + i]. Pairs (value, index)
// are folded with a rule that does not depend on the order of folding, so the
// workgroup tree reduction gives the same index as a left-to-right scan.
// Placeholders: T, NAN_CHECK (an expression in `v`). Meta layout: [0] n_out, [1] len, [2] inner.
@group(0) @binding(1) var<storage, read> x: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;

struct Best {
  v: {{T}},
  i: u32,
}

fn nan_of(v: {{T}}) -> bool {
  return {{NAN_CHECK}};
}

// b replaces a when b is larger, or NaN, or equal (both NaN counts as equal) with a smaller index.
fn better(a: Best, b: Best) -> Best {
  let an = nan_of(a.v);
  let bn = nan_of(b.v);
  if (an || bn) {
    if (bn && (!an || b.i < a.i)) {
      return b;
    }
    return a;
  }
  if (b.v > a.v || (b.v == a.v && b.i < a.i)) {
    return b;
  }
  return a;
}

var<workgroup> best_v: array<{{T}}, 256>;
var<workgroup> best_i: array<u32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let cell = wid.y * nwg.x + wid.x;
  let len = m(1u);
  let inner = m(2u);
  var acc = Best(x[0], 0xffffffffu);
  var have = false;
  if (cell < m(0u)) {
    let o = cell / inner;
    let i = cell % inner;
    let base = o * len * inner + i;
    for (var k = lid; k < len; k += 256u) {
      let cand = Best(x[base + k * inner], k);
      if (!have) {
        acc = cand;
        have = true;
      } else {
        acc = better(acc, cand);
      }
    }
  }
  best_v[lid] = acc.v;
  best_i[lid] = acc.i;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let a = Best(best_v[lid], best_i[lid]);
      let b = Best(best_v[lid + s], best_i[lid + s]);
      var r = a;
      if (a.i == 0xffffffffu) {
        r = b;
      } else if (b.i != 0xffffffffu) {
        r = better(a, b);
      }
      best_v[lid] = r.v;
      best_i[lid] = r.i;
    }
    workgroupBarrier();
  }
  if (lid == 0u && cell < m(0u)) {
    out[cell] = i32(best_i[0]);
  }
}
