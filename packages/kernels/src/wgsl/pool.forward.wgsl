// Global average pooling, forward: y[n, c] = mean over (h, w) of x[n, h, w, c].
// {{VEC}} is vec4f when C % 4 == 0 (CV = C / 4), else f32 (CV = C).
// One invocation owns one channel vector of one image and sums its H * W
// pixels with four independent accumulators, added in a fixed order at the
// end; neighbouring invocations read neighbouring addresses. No workgroup
// memory. The linear workgroup index is wid.x + wid.y * nwg.x.

alias V = {{VEC}};

struct Params {
  N: u32,
  HW: u32,      // pixels per image, H * W
  CV: u32,      // channel vectors per pixel
  invHW: f32,   // 1 / (H * W)
}

@group(0) @binding(0) var<storage, read> x: array<V>;        // [N, H, W, C]
@group(0) @binding(1) var<storage, read_write> y: array<V>;  // [N, C]
@group(0) @binding(2) var<uniform> p: Params;

override WG: u32;   // invocations per workgroup

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.N * p.CV) { return; }
  let cv = i % p.CV;
  let base = (i / p.CV) * p.HW * p.CV + cv;
  var a0 = V(0.0);
  var a1 = V(0.0);
  var a2 = V(0.0);
  var a3 = V(0.0);
  let whole = p.HW / 4u * 4u;
  for (var q = 0u; q < whole; q += 4u) {
    a0 += x[base + q * p.CV];
    a1 += x[base + (q + 1u) * p.CV];
    a2 += x[base + (q + 2u) * p.CV];
    a3 += x[base + (q + 3u) * p.CV];
  }
  for (var q = whole; q < p.HW; q++) {
    a0 += x[base + q * p.CV];
  }
  y[i] = ((a0 + a1) + (a2 + a3)) * p.invHW;
}
