// wt[Co, Ci] = w[Ci, Co]^T, so that the tiled input gradient of the
// pointwise convolution runs as the tiled forward GEMM dx = dy wt. The
// weight is small: one invocation per element, neighbours reading
// neighbouring addresses of w. The linear workgroup index is
// wid.x + wid.y * nwg.x.

struct Params {
  CI: u32,
  CO: u32,
}

@group(0) @binding(0) var<storage, read> w: array<f32>;          // [Ci, Co]
@group(0) @binding(1) var<storage, read_write> wt: array<f32>;   // [Co, Ci]
@group(0) @binding(2) var<uniform> p: Params;

override WG: u32;   // invocations per workgroup

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.CI * p.CO) { return; }
  let ci = i / p.CO;
  let co = i % p.CO;
  wt[co * p.CI + ci] = w[i];
}
