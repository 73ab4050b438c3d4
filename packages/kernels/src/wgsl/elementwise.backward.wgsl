// Backward of element-wise ops. One invocation owns four consecutive
// elements; the linear workgroup index is wid.x + wid.y * nwg.x.

struct Params {
  count: u32,   // elements in every tensor
}

@group(0) @binding(0) var<storage, read> x: array<f32>;         // [count] forward input
@group(0) @binding(1) var<storage, read> dy: array<f32>;        // [count]
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;  // [count]
@group(0) @binding(3) var<uniform> p: Params;

override WG: u32;   // invocations per workgroup

// dx = dy where 0 < x < 6, else 0 (the subgradient at the kinks is 0).
@compute @workgroup_size(WG)
fn relu6(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let base = ((wid.x + wid.y * nwg.x) * WG + lid) * 4u;
  for (var j = 0u; j < 4u; j++) {
    let i = base + j;
    if (i < p.count) {
      let v = x[i];
      dx[i] = select(0.0, dy[i], v > 0.0 && v < 6.0);
    }
  }
}
