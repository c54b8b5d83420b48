// The fused reduction family: one kernel per fusion group with reductions
// (src/backends/fused.ts) and per set of reduced axes. Each output cell folds
// the elements of its reduced sub-block of the group's iteration space: for
// each element the thread finds every input's broadcast offset, computes the
// nodes the reductions need as `let` values (each converted to its node's
// type, as in fused.wgsl) and folds the reduced nodes into its accumulators.
// The reduced values are never stored.
// Entry `rows`: one workgroup per output cell, a strided partial fold per
// thread, then a tree reduction in workgroup memory (as reduce.wgsl). Entry
// `serial`: one thread per output cell, 64 per workgroup (the choice in
// src/backends/webgpu/mapKernel.ts, reductionEntry).
// The source depends on the nodes, dtypes and reductions only: the kept and
// reduced shapes, their ranks and the inputs' strides come from the parameter
// block, so one pipeline serves a group at every shape and set of axes.
// Host-filled placeholders: BINDINGS (in0.. read-only, out0.. read-write, one
// output per reduction), PRELUDE (the helper functions the nodes call),
// ACC_FIELDS / ACC_INIT / ACC_COMBINE (the accumulators `r0`, `r1`, … of the
// reductions: fields, identities `a.rk = …;`, combines `c.rk = …;` of `a` and
// `b`), BASES (`var bk = 0u;` per input used), BASE_STEPS (`bk += idx ·
// kept stride`), STRIDES / OFFSETS_ONE (with one reduced dim: `let sk =
// reduced stride;`, `let ok = bk + j * sk;`), OFFSETS (`var ok = bk;`), STEPS
// (`ok += idx · reduced stride`), BODY (the nodes), FOLD (`acc.rk = …;`), STORES (`outk[cell] =
// r.rk;`), DIVMOD (the index division, src/backends/webgpu/mapKernel.ts).
// Meta layout: [0] n_out, [1] n_red, [2] KR, [3] RR (kept / reduced rank after
// collapsing), [4..4+KR) kept shape, [4+KR..4+KR+RR) reduced shape, then for
// input k at 4+KR+RR + k·(KR+RR): its KR kept strides, then its RR reduced
// strides (in elements; 0 on broadcast dims).
{{BINDINGS}}

{{PRELUDE}}

{{DIVMOD}}

struct Acc {
{{ACC_FIELDS}}
}

fn acc_init() -> Acc {
  var a: Acc;
{{ACC_INIT}}
  return a;
}

fn acc_combine(a: Acc, b: Acc) -> Acc {
  var c: Acc;
{{ACC_COMBINE}}
  return c;
}

// Folds elements j0, j0 + step, … of the reduced block of output cell `cell`.
fn fold(cell: u32, j0: u32, step: u32) -> Acc {
  let kr = m(2u);
  let rr = m(3u);
  let sb = 4u + kr + rr;
  let w = kr + rr;
{{BASES}}
  var rem = cell;
  for (var d = kr; d > 0u; d--) {
    let qr = index_divmod(rem, m(3u + d));
    rem = qr.x;
{{BASE_STEPS}}
  }
  var acc = acc_init();
  let n_red = m(1u);
  if (rr == 1u) {
    // one reduced dim (a leading- or trailing-axis sum): no division per element
{{STRIDES}}
    for (var j = j0; j < n_red; j += step) {
{{OFFSETS_ONE}}
{{BODY}}
{{FOLD}}
    }
  } else {
    for (var j = j0; j < n_red; j += step) {
{{OFFSETS}}
      var rj = j;
      for (var d = rr; d > 0u; d--) {
        let qr = index_divmod(rj, m(3u + kr + d));
        rj = qr.x;
{{STEPS}}
      }
{{BODY}}
{{FOLD}}
    }
  }
  return acc;
}

var<workgroup> partial: array<Acc, 256>;

@compute @workgroup_size(256)
fn rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let cell = wid.y * nwg.x + wid.x;
  var acc = acc_init();
  if (cell < m(0u)) {
    acc = fold(cell, lid, 256u);
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) {
      partial[lid] = acc_combine(partial[lid], partial[lid + s]);
    }
    workgroupBarrier();
  }
  if (lid == 0u && cell < m(0u)) {
    let r = partial[0];
{{STORES}}
  }
}

@compute @workgroup_size(64)
fn serial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let cell = (wid.y * nwg.x + wid.x) * 64u + lid;
  if (cell >= m(0u)) {
    return;
  }
  let r = fold(cell, 0u, 1u);
{{STORES}}
}
