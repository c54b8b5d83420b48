// The 2-D transpose by 4×4 tiles: out[r][c] = x[c][r] for out of shape
// [R, C] (x of shape [C, R]), R and C multiples of 4. Thread t takes one tile:
// it reads 4 quads of x (rows 4·tc..4·tc+3, quad tr) and writes 4 quads of
// out (rows 4·tr..4·tr+3, quad tc), its tile row and column found once
// (index_divmod). A quarter of the loads and stores of the strided map, and
// no per-element index arithmetic (software adapters run integer division
// lane by lane).
// Placeholders: T (element type), DIVMOD (the index division,
// src/backends/webgpu/mapKernel.ts).
// Meta layout: [0] tiles, [1] C/4 (tiles per tile row, quads per row of out),
// [2] R/4 (quads per row of x).
@group(0) @binding(1) var<storage, read> x: array<vec4<{{T}}>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<{{T}}>>;

{{DIVMOD}}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (t >= m(0u)) {
    return;
  }
  let cq = m(1u);
  let rq = m(2u);
  let rc = index_divmod(t, cq);
  let tr = rc.x;
  let tc = rc.y;
  let a0 = x[(4u * tc) * rq + tr];
  let a1 = x[(4u * tc + 1u) * rq + tr];
  let a2 = x[(4u * tc + 2u) * rq + tr];
  let a3 = x[(4u * tc + 3u) * rq + tr];
  out[(4u * tr) * cq + tc] = vec4<{{T}}>(a0.x, a1.x, a2.x, a3.x);
  out[(4u * tr + 1u) * cq + tc] = vec4<{{T}}>(a0.y, a1.y, a2.y, a3.y);
  out[(4u * tr + 2u) * cq + tc] = vec4<{{T}}>(a0.z, a1.z, a2.z, a3.z);
  out[(4u * tr + 3u) * cq + tc] = vec4<{{T}}>(a0.w, a1.w, a2.w, a3.w);
}
