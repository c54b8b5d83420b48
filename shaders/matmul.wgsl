// Batched matrix product C[b] = A[b] · B[b] (f32 or i32: T), tiled in workgroup memory.
// A workgroup of WG×(WG/2) threads computes a 4WG×4WG tile of C, each thread
// an 8×4 block (8 rows, 4 columns), stepping through K in slices of TK that
// the workgroup stages in workgroup memory. Edges (sizes that are not
// multiples of the tile, primes) load zeros and skip stores. Batch dims
// broadcast through host-computed strides (0 on broadcast dims).
// Placeholders: T, BR (batch rank), WG. Meta layout: [0] M, [1] N, [2] K,
// [3] batch offset, [4] row-tile offset, then batch shape[BR],
// A batch strides[BR], B batch strides[BR] (in elements).
// The EPILOGUE placeholder (filled by the host) declares the output and what a store does:
// by default the binding of C (3) and store_c(i, row, col, v), which writes
// element (row, col) of C at index i; with an elementwise epilogue fused in
// (src/backends/webgpu/fused.ts), the epilogue's inputs and outputs, a store_c
// that writes v to an output, and epilogue_finish, which reads the thread's
// values back and computes the epilogue's nodes and outputs from them (a loop:
// the nodes appear once in the kernel rather than at each unrolled store).
// epilogue_setup(batch) runs once per thread before the stores;
// epilogue_finish(c_base, row0, rows, col0, cols, step) after them, with the
// thread's block: rows row0.., columns col0 + q·step for q < cols.
@group(0) @binding(1) var<storage, read> a: array<{{T}}>;
@group(0) @binding(2) var<storage, read> b: array<{{T}}>;
{{EPILOGUE}}

const BR: u32 = {{BR}}u;
const WG: u32 = {{WG}}u;
const WGY: u32 = WG / 2u;
const TILE: u32 = 4u * WG;
const TK: u32 = 16u;
const THREADS: u32 = WG * WGY;
const TV: u32 = TILE / 4u;

// As4[k·TV + r] holds rows 4r..4r+3 of column k of the A slice;
// Bs4[k·TV + q] holds columns 4q..4q+3 of row k of the B slice.
var<workgroup> As4: array<vec4<{{T}}>, TK * TV>;
var<workgroup> Bs4: array<vec4<{{T}}>, TK * TV>;

@compute @workgroup_size(WG, WGY)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = m(0u);
  let N = m(1u);
  let K = m(2u);
  let batch = wid.z + m(3u);
  let bases = matmul_batch_bases(batch, BR);
  let a_base = bases.x * M * K;
  let b_base = bases.y * K * N;
  let c_base = batch * M * N;
  epilogue_setup(batch);
  let row0 = (wid.y + m(4u)) * TILE;
  let col0 = wid.x * TILE;
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * WG + tx;

  var acc0 = vec4<{{T}}>({{T}}(0));
  var acc1 = vec4<{{T}}>({{T}}(0));
  var acc2 = vec4<{{T}}>({{T}}(0));
  var acc3 = vec4<{{T}}>({{T}}(0));
  var acc4 = vec4<{{T}}>({{T}}(0));
  var acc5 = vec4<{{T}}>({{T}}(0));
  var acc6 = vec4<{{T}}>({{T}}(0));
  var acc7 = vec4<{{T}}>({{T}}(0));

  for (var k0 = 0u; k0 < K; k0 += TK) {
    // staging: item e = (r4, kk) is rows 4·r4..4·r4+3 of column kk of the A slice,
    // item e = (kb, c4) is columns 4·c4..4·c4+3 of row kb of the B slice
    for (var e = tid; e < TK * TV; e += THREADS) {
      let kk = e % TK;
      let r4 = e / TK;
      let gk = k0 + kk;
      let gr = row0 + r4 * 4u;
      var va = vec4<{{T}}>({{T}}(0));
      if (gk < K) {
        if (gr < M) {
          va.x = a[a_base + gr * K + gk];
        }
        if (gr + 1u < M) {
          va.y = a[a_base + (gr + 1u) * K + gk];
        }
        if (gr + 2u < M) {
          va.z = a[a_base + (gr + 2u) * K + gk];
        }
        if (gr + 3u < M) {
          va.w = a[a_base + (gr + 3u) * K + gk];
        }
      }
      As4[kk * TV + r4] = va;
      let kb = e / TV;
      let c4 = e % TV;
      let gkb = k0 + kb;
      let gc = col0 + c4 * 4u;
      var vb = vec4<{{T}}>({{T}}(0));
      if (gkb < K) {
        let brow = b_base + gkb * N;
        if (gc < N) {
          vb.x = b[brow + gc];
        }
        if (gc + 1u < N) {
          vb.y = b[brow + gc + 1u];
        }
        if (gc + 2u < N) {
          vb.z = b[brow + gc + 2u];
        }
        if (gc + 3u < N) {
          vb.w = b[brow + gc + 3u];
        }
      }
      Bs4[kb * TV + c4] = vb;
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      let av = As4[k * TV + 2u * ty];
      let aw = As4[k * TV + 2u * ty + 1u];
      let bv = Bs4[k * TV + tx];
      acc0 += av.x * bv;
      acc1 += av.y * bv;
      acc2 += av.z * bv;
      acc3 += av.w * bv;
      acc4 += aw.x * bv;
      acc5 += aw.y * bv;
      acc6 += aw.z * bv;
      acc7 += aw.w * bv;
    }
    workgroupBarrier();
  }

  let col = col0 + tx * 4u;
  let row = row0 + ty * 8u;
  store_row(c_base, row, col, M, N, acc0);
  store_row(c_base, row + 1u, col, M, N, acc1);
  store_row(c_base, row + 2u, col, M, N, acc2);
  store_row(c_base, row + 3u, col, M, N, acc3);
  store_row(c_base, row + 4u, col, M, N, acc4);
  store_row(c_base, row + 5u, col, M, N, acc5);
  store_row(c_base, row + 6u, col, M, N, acc6);
  store_row(c_base, row + 7u, col, M, N, acc7);
  epilogue_finish(c_base, row, 8u, col, 4u, 1u);
}

fn store_row(c_base: u32, row: u32, col: u32, M: u32, N: u32, v: vec4<{{T}}>) {
  if (row >= M) {
    return;
  }
  let o = c_base + row * N + col;
  if (col < N) {
    store_c(o, row, col, v.x);
  }
  if (col + 1u < N) {
    store_c(o + 1u, row, col + 1u, v.y);
  }
  if (col + 2u < N) {
    store_c(o + 2u, row, col + 2u, v.z);
  }
  if (col + 3u < N) {
    store_c(o + 3u, row, col + 3u, v.w);
  }
}
