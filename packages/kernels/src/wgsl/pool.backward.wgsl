// Global average pooling, backward: dx[n, h, w, c] = dy[n, c] / (H * W).
// {{VEC}} is vec4f when C % 4 == 0 (CV = C / 4), else f32 (CV = C).
// One invocation writes four vectors of dx, WG apart, so neighbours touch
// neighbouring addresses. No workgroup memory. The linear workgroup index is wid.x + wid.y * nwg.x.

alias V = {{VEC}};

struct Params {
  N: u32,
  HW: u32,      // pixels per image, H * W
  CV: u32,      // channel vectors per pixel
  invHW: f32,   // 1 / (H * W)
}

@group(0) @binding(0) var<storage, read> dy: array<V>;        // [N, C]
@group(0) @binding(1) var<storage, read_write> dx: array<V>;  // [N, H, W, C]
@group(0) @binding(2) var<uniform> p: Params;

override WG: u32;   // invocations per workgroup

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let first = (wid.x + wid.y * nwg.x) * WG * 4u + lid;
  let count = p.N * p.HW * p.CV;
  for (var j = 0u; j < 4u; j++) {
    let i = first + j * WG;
    if (i < count) {
      let n = i / (p.HW * p.CV);
      dx[i] = dy[n * p.CV + i % p.CV] * p.invHW;
    }
  }
}
