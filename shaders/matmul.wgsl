// Batched matrix product C[b] = A[b] · B[b] (f32 or i32: T), tiled in workgroup memory.
// A workgroup of 16×16 threads computes a 64×64 tile of C, each thread a 4×4
// block, stepping through K in slices of 16 that the workgroup stages in
// workgroup memory. Edges (sizes that are not multiples of the tile, primes)
// load zeros and skip stores. Batch dims broadcast through host-computed
// strides (0 on broadcast dims).
// Placeholders: T, BR (batch rank). Meta layout: [0] M, [1] N, [2] K,
// [3] batch offset, [4] row-tile offset, then batch shape[BR],
// A batch strides[BR], B batch strides[BR] (in elements).
@group(0) @binding(1) var<storage, read> a: array<{{T}}>;
@group(0) @binding(2) var<storage, read> b: array<{{T}}>;
@group(0) @binding(3) var<storage, read_write> c: array<{{T}}>;

const BR: u32 = {{BR}}u;
const TILE: u32 = 64u;
const TK: u32 = 16u;

// As4[k·16 + r] holds rows 4r..4r+3 of column k of the A slice; Bs4[k·16 + q] holds columns 4q..4q+3 of row k of the B slice.
var<workgroup> As4: array<vec4<{{T}}>, 256>;
var<workgroup> Bs4: array<vec4<{{T}}>, 256>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = m(0u);
  let N = m(1u);
  let K = m(2u);
  let batch = wid.z + m(3u);
  var a_base = 0u;
  var b_base = 0u;
  var rem = batch;
  for (var d = BR; d > 0u; d--) {
    let dim = m(4u + d);
    let idx = rem % dim;
    rem = rem / dim;
    a_base += idx * m(4u + BR + d);
    b_base += idx * m(4u + 2u * BR + d);
  }
  a_base *= M * K;
  b_base *= K * N;
  let c_base = batch * M * N;
  let row0 = (wid.y + m(4u)) * TILE;
  let col0 = wid.x * TILE;
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * 16u + tx;

  var acc0 = vec4<{{T}}>({{T}}(0));
  var acc1 = vec4<{{T}}>({{T}}(0));
  var acc2 = vec4<{{T}}>({{T}}(0));
  var acc3 = vec4<{{T}}>({{T}}(0));

  for (var k0 = 0u; k0 < K; k0 += TK) {
    for (var l = 0u; l < 4u; l++) {
      let e = tid + l * 256u;
      // A: 64 rows × 16 columns, row-major walk (e = r·16 + kk)
      let r = e / TK;
      let kk = e % TK;
      let gr = row0 + r;
      let gk = k0 + kk;
      var va = {{T}}(0);
      if (gr < M && gk < K) {
        va = a[a_base + gr * K + gk];
      }
      As4[kk * 16u + r / 4u][r % 4u] = va;
      // B: 16 rows × 64 columns (e = kb·64 + cc)
      let kb = e / TILE;
      let cc = e % TILE;
      let gkb = k0 + kb;
      let gc = col0 + cc;
      var vb = {{T}}(0);
      if (gkb < K && gc < N) {
        vb = b[b_base + gkb * N + gc];
      }
      Bs4[kb * 16u + cc / 4u][cc % 4u] = vb;
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      let av = As4[k * 16u + ty];
      let bv = Bs4[k * 16u + tx];
      acc0 += av.x * bv;
      acc1 += av.y * bv;
      acc2 += av.z * bv;
      acc3 += av.w * bv;
    }
    workgroupBarrier();
  }

  let col = col0 + tx * 4u;
  var accs = array<vec4<{{T}}>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + ty * 4u + i;
    if (row < M) {
      let v = accs[i];
      for (var j = 0u; j < 4u; j++) {
        if (col + j < N) {
          c[c_base + row * N + col + j] = v[j];
        }
      }
    }
  }
}
