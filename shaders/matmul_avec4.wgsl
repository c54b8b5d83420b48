// Batched matrix product C[b] = A[b] · B[b] (f32 or i32: T) for the software
// adapter Mesa llvmpipe when K is a multiple of 4 and N is not (N = 10, the
// classes of a classifier): A is read as an array of vec4 (four consecutive K
// of one row), B and C as scalars. The companion of matmul_vec4.wgsl (whose
// header says why loads are what costs on llvmpipe): each thread accumulates
// RM rows × CN columns of C, loading per step of four values of K RM vec4 of A
// and 4·CN scalars of B for 4·RM·CN multiply-adds. A workgroup of WX threads
// (one SIMD vector) covers RM rows × WX·CN columns; thread x owns the columns
// x, x + WX, ..., x + (CN−1)·WX. Edges clamp the row and column they read to
// the last valid one and skip the stores outside C. Batch dims broadcast
// through host-computed strides (0 on broadcast dims).
// Placeholders: T, BR (batch rank), RM (rows per thread), CN (columns per
// thread). Meta layout as matmul.wgsl: [0] M, [1] N, [2] K, [3] batch offset,
// [4] row-tile offset, then batch shape[BR], A batch strides[BR], B batch
// strides[BR] (in matrices).
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
@group(0) @binding(1) var<storage, read> a: array<vec4<{{T}}>>;
@group(0) @binding(2) var<storage, read> b: array<{{T}}>;
{{EPILOGUE}}

const BR: u32 = {{BR}}u;
const RM: u32 = {{RM}}u;
const CN: u32 = {{CN}}u;
const WX: u32 = 8u;

@compute @workgroup_size(WX)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = m(0u);
  let N = m(1u);
  let K = m(2u);
  let K4 = K / 4u;
  let batch = wid.z + m(3u);
  let bases = matmul_batch_bases(batch, BR);
  let a_base = bases.x * M * K4;
  let b_base = bases.y * K * N;
  let c_base = batch * M * N;
  epilogue_setup(batch);
  let row0 = (wid.y + m(4u)) * RM;
  let col0 = wid.x * (WX * CN) + lid.x;
  // the columns of B this thread reads and the rows of A, clamped into range
  var cols: array<u32, CN>;
  for (var j = 0u; j < CN; j++) {
    cols[j] = b_base + min(col0 + j * WX, N - 1u);
  }
  var rows: array<u32, RM>;
  for (var r = 0u; r < RM; r++) {
    rows[r] = a_base + min(row0 + r, M - 1u) * K4;
  }
  var acc: array<array<{{T}}, CN>, RM>;
  for (var k = 0u; k < K4; k++) {
    // bv[j]: rows 4k..4k+3 of column cols[j] of B
    var bv: array<vec4<{{T}}>, CN>;
    for (var j = 0u; j < CN; j++) {
      let o = 4u * k * N + cols[j];
      bv[j] = vec4<{{T}}>(b[o], b[o + N], b[o + 2u * N], b[o + 3u * N]);
    }
    for (var r = 0u; r < RM; r++) {
      let av = a[rows[r] + k];
      for (var j = 0u; j < CN; j++) {
        acc[r][j] += dot(av, bv[j]);
      }
    }
  }
  for (var r = 0u; r < RM; r++) {
    let row = row0 + r;
    if (row < M) {
      for (var j = 0u; j < CN; j++) {
        let col = col0 + j * WX;
        if (col < N) {
          store_c(c_base + row * N + col, row, col, acc[r][j]);
        }
      }
    }
  }
  epilogue_finish(c_base, row0, RM, col0, CN, WX);
}
