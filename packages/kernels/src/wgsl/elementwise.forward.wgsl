// Element-wise ops on flat tensors. One invocation owns four consecutive
// elements. The grid may be folded into x,y when it exceeds the
// per-dimension limit, so the linear workgroup index is wid.x + wid.y * nwg.x.

struct Params {
  count: u32,   // elements in every tensor
}

@group(0) @binding(0) var<storage, read> x: array<f32>;        // [count]
@group(0) @binding(1) var<storage, read_write> y: array<f32>;  // [count]
@group(0) @binding(2) var<uniform> p: Params;

override WG: u32;   // invocations per workgroup

// y = min(max(x, 0), 6)
@compute @workgroup_size(WG)
fn relu6(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let base = ((wid.x + wid.y * nwg.x) * WG + lid) * 4u;
  for (var j = 0u; j < 4u; j++) {
    let i = base + j;
    if (i < p.count) {
      y[i] = clamp(x[i], 0.0, 6.0);
    }
  }
}
