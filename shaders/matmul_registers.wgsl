// Batched matrix product C[b] = A[b] · B[b] (f32 or i32: T) for the software
// adapter Mesa llvmpipe when K is not a multiple of 4 (else matmul_vec4.wgsl
// or matmul_avec4.wgsl, which load vec4; SwiftShader runs matmul.wgsl faster,
// hardware adapters keep matmul.wgsl too): no workgroup memory and no barriers,
// each thread accumulates a large block of C in registers straight from the
// storage buffers. On a CPU-emulated GPU every storage load is a per-lane
// gather and a barrier splits the shader into coroutines, so the cost is the
// number of loads per multiply-add: a thread's RM×16 block needs RM + 16 loads
// per step of K for 16·RM multiply-adds (the tiled kernel in matmul.wgsl does
// more loads per multiply-add once its staging is counted, plus two barriers
// per slice of K). A workgroup of WX×WY threads covers a (WY·RM)×(16·WX) tile
// of C; a thread owns RM consecutive rows and 16 columns spaced WX apart
// (neighbouring lanes read neighbouring columns of B). Edges (sizes that are
// not multiples of the tile, primes) clamp the row and column they read to the
// last valid one and skip the stores outside C. Batch dims broadcast through
// host-computed strides (0 on broadcast dims).
// Placeholders: T, BR (batch rank). Meta layout as matmul.wgsl: [0] M, [1] N,
// [2] K, [3] batch offset, [4] row-tile offset, then batch shape[BR],
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
const WX: u32 = 8u;
const WY: u32 = 2u;
const RM: u32 = 32u;
const TILE_M: u32 = WY * RM;
const TILE_N: u32 = 16u * WX;

@compute @workgroup_size(WX, WY)
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
  let row0 = (wid.y + m(4u)) * TILE_M + lid.y * RM;
  let col0 = wid.x * TILE_N + lid.x;

  // the columns this thread reads: col0 + q·WX, clamped into B
  var cols: array<u32, 16>;
  for (var q = 0u; q < 16u; q++) {
    cols[q] = b_base + min(col0 + q * WX, N - 1u);
  }
  var acc: array<array<vec4<{{T}}>, 4>, RM>;
  for (var k = 0u; k < K; k++) {
    let bk = k * N;
    let b0 = vec4<{{T}}>(b[bk + cols[0]], b[bk + cols[1]], b[bk + cols[2]], b[bk + cols[3]]);
    let b1 = vec4<{{T}}>(b[bk + cols[4]], b[bk + cols[5]], b[bk + cols[6]], b[bk + cols[7]]);
    let b2 = vec4<{{T}}>(b[bk + cols[8]], b[bk + cols[9]], b[bk + cols[10]], b[bk + cols[11]]);
    let b3 = vec4<{{T}}>(b[bk + cols[12]], b[bk + cols[13]], b[bk + cols[14]], b[bk + cols[15]]);
    for (var r = 0u; r < RM; r++) {
      let av = a[a_base + min(row0 + r, M - 1u) * K + k];
      acc[r][0] += av * b0;
      acc[r][1] += av * b1;
      acc[r][2] += av * b2;
      acc[r][3] += av * b3;
    }
  }
  for (var r = 0u; r < RM; r++) {
    for (var j = 0u; j < 4u; j++) {
      store_cols(c_base, row0 + r, col0 + 4u * j * WX, M, N, acc[r][j]);
    }
  }
  epilogue_finish(c_base, row0, RM, col0, 16u, WX);
}

// v holds columns col, col + WX, col + 2·WX, col + 3·WX of one row of C
fn store_cols(c_base: u32, row: u32, col: u32, M: u32, N: u32, v: vec4<{{T}}>) {
  if (row >= M) {
    return;
  }
  let o = c_base + row * N;
  if (col < N) {
    store_c(o + col, row, col, v.x);
  }
  if (col + WX < N) {
    store_c(o + col + WX, row, col + WX, v.y);
  }
  if (col + 2u * WX < N) {
    store_c(o + col + 2u * WX, row, col + 2u * WX, v.z);
  }
  if (col + 3u * WX < N) {
    store_c(o + col + 3u * WX, row, col + 3u * WX, v.w);
  }
}
