// Batched matrix product C[b] = A[b] · B[b] (f32 or i32: T) for the software
// adapter Mesa llvmpipe when K and N are multiples of 4: A, B and C are read
// and written as arrays of vec4, no workgroup memory and no barriers.
// llvmpipe runs the invocations of a workgroup as the lanes of a SIMD vector
// and turns every storage load into a loop over the lanes, one scalar load of
// each component per lane, so a vec4 load costs about what a scalar load
// costs, and the multiply-adds cost little next to the loads. Each thread
// therefore accumulates a large RM × 4·CN block of C: per step of four values
// of K it loads RM vec4 of A (four consecutive K of one row) and 4·CN vec4 of
// B (four columns of one row of B) for 16·RM·CN multiply-adds, a quarter of
// the loads of matmul_registers.wgsl per multiply-add. A workgroup of WX
// threads (one SIMD vector) covers RM rows × 4·WX·CN columns of C; thread x
// owns the column quads x, x + WX, ..., x + (CN−1)·WX (neighbouring lanes read
// neighbouring quads of B). Edges (M, or N/4, not a multiple of the tile)
// clamp the row and quad they read to the last valid one and skip the stores
// outside C. Batch dims broadcast through host-computed strides (0 on
// broadcast dims).
// Placeholders: T, BR (batch rank), RM (rows per thread), CN (column quads
// per thread). Meta layout as matmul.wgsl: [0] M, [1] N, [2] K, [3] batch
// offset, [4] row-tile offset, then batch shape[BR], A batch strides[BR],
// B batch strides[BR] (in matrices).
// The EPILOGUE placeholder (filled by the host) declares the output and what a store does:
// by default the binding of C (3) and store_c(i, row, col, v), which writes
// the quad v of C (row `row`, columns col..col+3) at vec4 index i; with an elementwise epilogue fused in
// (src/backends/webgpu/fused.ts), the epilogue's inputs and outputs, a store_c
// that writes v to an output, and epilogue_finish, which reads the thread's
// values back and computes the epilogue's nodes and outputs from them (a loop:
// the nodes appear once in the kernel rather than at each unrolled store).
// epilogue_setup(batch) runs once per thread before the stores;
// epilogue_finish(c_base, row0, rows, col0, cols, step) after them, with the
// thread's block: rows row0.., quads col0 + q·step for q < cols.
@group(0) @binding(1) var<storage, read> a: array<vec4<{{T}}>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<{{T}}>>;
{{EPILOGUE}}

const BR: u32 = {{BR}}u;
const RM: u32 = {{RM}}u;
const CN: u32 = {{CN}}u;
const WX: u32 = 8u;

@compute @workgroup_size(WX)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = m(0u);
  let N4 = m(1u) / 4u;
  let K = m(2u);
  let K4 = K / 4u;
  let batch = wid.z + m(3u);
  let bases = matmul_batch_bases(batch, BR);
  let a_base = bases.x * M * K4;
  let b_base = bases.y * K * N4;
  let c_base = batch * M * N4;
  epilogue_setup(batch);
  let row0 = (wid.y + m(4u)) * RM;
  let col0 = wid.x * (WX * CN) + lid.x;

  // the quads of B this thread reads and the rows of A, clamped into range
  var cols: array<u32, CN>;
  for (var j = 0u; j < CN; j++) {
    cols[j] = b_base + min(col0 + j * WX, N4 - 1u);
  }
  var rows: array<u32, RM>;
  for (var r = 0u; r < RM; r++) {
    rows[r] = a_base + min(row0 + r, M - 1u) * K4;
  }
  var acc: array<array<vec4<{{T}}>, CN>, RM>;
  for (var k = 0u; k < K4; k++) {
    // bv[i][j]: quad cols[j] of row 4k + i of B
    var bv: array<array<vec4<{{T}}>, CN>, 4>;
    for (var i = 0u; i < 4u; i++) {
      for (var j = 0u; j < CN; j++) {
        bv[i][j] = b[(4u * k + i) * N4 + cols[j]];
      }
    }
    for (var r = 0u; r < RM; r++) {
      let av = a[rows[r] + k];
      for (var j = 0u; j < CN; j++) {
        acc[r][j] += av.x * bv[0][j] + av.y * bv[1][j] + av.z * bv[2][j] + av.w * bv[3][j];
      }
    }
  }
  for (var r = 0u; r < RM; r++) {
    let row = row0 + r;
    if (row < M) {
      for (var j = 0u; j < CN; j++) {
        let col = col0 + j * WX;
        if (col < N4) {
          store_c(c_base + row * N4 + col, row, 4u * col, acc[r][j]);
        }
      }
    }
  }
  epilogue_finish(c_base, row0, RM, col0, CN, WX);
}
