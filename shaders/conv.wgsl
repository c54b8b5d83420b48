// The convolution family (src/ops/conv.ts), NHWC inputs and HWIO filters,
// one thread per output element, three entry points:
// - conv_forward:     out = y [N,Ho,Wo,Cout], a = x [N,H,W,Cin], b = w [kh,kw,Cg,Cout];
//   y[n,i,j,o] = sum over a, b, c of x[n, i*sh + a*dh - top, j*sw + b*dw - left, g*Cg + c] * w[a,b,c,o];
// - conv_input_grad:  out = x-bar [N,H,W,Cin], a = gr [N,Ho,Wo,Cout], b = w; the sum over the taps (a, i), (b, j)
//   that reach (h, v) and the output channels of the group;
// - conv_filter_grad: out = w-bar [kh,kw,Cg,Cout], a = x, b = gr; the sum over n, i, j.
// Reads outside the input are zeros (skipped). Placeholders: T (f32).
// Meta layout: [0] outputs, [1] N, [2] H, [3] W, [4] Cin, [5] Ho, [6] Wo, [7] Cout, [8] kh, [9] kw, [10] sh,
// [11] sw, [12] dh, [13] dw, [14] top, [15] left, [16] groups.
@group(0) @binding(1) var<storage, read> a: array<{{T}}>;
@group(0) @binding(2) var<storage, read> b: array<{{T}}>;
@group(0) @binding(3) var<storage, read_write> out: array<{{T}}>;

fn thread_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * 256u + lid;
}

@compute @workgroup_size(256)
fn conv_forward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let t = thread_index(wid, nwg, lid);
  if (t >= m(0u)) {
    return;
  }
  let H = i32(m(2u));
  let W = i32(m(3u));
  let cin = m(4u);
  let ho = m(5u);
  let wo = m(6u);
  let cout = m(7u);
  let kh = m(8u);
  let kw = m(9u);
  let cg = cin / m(16u);
  let og = cout / m(16u);
  let o = t % cout;
  let j = (t / cout) % wo;
  let i = (t / (cout * wo)) % ho;
  let n = t / (cout * wo * ho);
  let g = o / og;
  var s = {{T}}(0);
  for (var ka = 0u; ka < kh; ka++) {
    let row = i32(i * m(10u) + ka * m(12u)) - i32(m(14u));
    if (row < 0 || row >= H) {
      continue;
    }
    for (var kb = 0u; kb < kw; kb++) {
      let col = i32(j * m(11u) + kb * m(13u)) - i32(m(15u));
      if (col < 0 || col >= W) {
        continue;
      }
      let xo = ((n * u32(H) + u32(row)) * u32(W) + u32(col)) * cin + g * cg;
      let wo0 = (ka * kw + kb) * cg * cout + o;
      for (var c = 0u; c < cg; c++) {
        s += a[xo + c] * b[wo0 + c * cout];
      }
    }
  }
  out[t] = s;
}

@compute @workgroup_size(256)
fn conv_input_grad(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let t = thread_index(wid, nwg, lid);
  if (t >= m(0u)) {
    return;
  }
  let H = m(2u);
  let W = m(3u);
  let cin = m(4u);
  let ho = m(5u);
  let wo = m(6u);
  let cout = m(7u);
  let kh = m(8u);
  let kw = m(9u);
  let sh = m(10u);
  let sw = m(11u);
  let cg = cin / m(16u);
  let og = cout / m(16u);
  let ci = t % cin;
  let v = (t / cin) % W;
  let h = (t / (cin * W)) % H;
  let n = t / (cin * W * H);
  let g = ci / cg;
  let c = ci % cg;
  var s = {{T}}(0);
  for (var ka = 0u; ka < kh; ka++) {
    let num = i32(h + m(14u)) - i32(ka * m(12u));
    if (num < 0 || u32(num) % sh != 0u || u32(num) / sh >= ho) {
      continue;
    }
    let i = u32(num) / sh;
    for (var kb = 0u; kb < kw; kb++) {
      let numc = i32(v + m(15u)) - i32(kb * m(13u));
      if (numc < 0 || u32(numc) % sw != 0u || u32(numc) / sw >= wo) {
        continue;
      }
      let j = u32(numc) / sw;
      let go = ((n * ho + i) * wo + j) * cout + g * og;
      let wo0 = ((ka * kw + kb) * cg + c) * cout + g * og;
      for (var o = 0u; o < og; o++) {
        s += a[go + o] * b[wo0 + o];
      }
    }
  }
  out[t] = s;
}

@compute @workgroup_size(256)
fn conv_filter_grad(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let t = thread_index(wid, nwg, lid);
  if (t >= m(0u)) {
    return;
  }
  let N = m(1u);
  let H = i32(m(2u));
  let W = i32(m(3u));
  let cin = m(4u);
  let ho = m(5u);
  let wo = m(6u);
  let cout = m(7u);
  let kw = m(9u);
  let cg = cin / m(16u);
  let og = cout / m(16u);
  let o = t % cout;
  let c = (t / cout) % cg;
  let kb = (t / (cout * cg)) % kw;
  let ka = t / (cout * cg * kw);
  let g = o / og;
  var s = {{T}}(0);
  for (var n = 0u; n < N; n++) {
    for (var i = 0u; i < ho; i++) {
      let row = i32(i * m(10u) + ka * m(12u)) - i32(m(14u));
      if (row < 0 || row >= H) {
        continue;
      }
      for (var j = 0u; j < wo; j++) {
        let col = i32(j * m(11u) + kb * m(13u)) - i32(m(15u));
        if (col < 0 || col >= W) {
          continue;
        }
        s += a[((n * u32(H) + u32(row)) * u32(W) + u32(col)) * cin + g * cg + c] * b[((n * ho + i) * wo + j) * cout + o];
      }
    }
  }
  out[t] = s;
}
