// Pointwise (1x1) convolution, gradient of the input:
// dx[M, Ci] = dy[M, Co] * w[Ci, Co]^T. No workgroup memory, no barriers.
// The linear workgroup index is wid.x + wid.y * nwg.x (the grid may be folded).

struct Params {
  M: u32,    // rows (product of the leading dims)
  CI: u32,   // input channels
  CO: u32,   // output channels
}

override WG: u32;   // invocations per workgroup

// The tiled gradient (Ci % 4 == 0) is not here: it transposes w
// (pwconv.transpose.wgsl) and runs the tiled forward GEMM dx = dy w^T, which
// measured about 2x faster than a kernel reading w's rows in place.

// ---- naive: any Ci, Co ----
// One invocation owns one element dx[m, ci] and walks all of Co.

@group(0) @binding(0) var<storage, read> dy: array<f32>;        // [M, Co]
@group(0) @binding(1) var<storage, read> w: array<f32>;         // [Ci, Co]
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;  // [M, Ci]
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn naive(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.M * p.CI) { return; }
  let m = i / p.CI;
  let ci = i % p.CI;
  var acc = 0.0;
  for (var co = 0u; co < p.CO; co++) {
    acc += dy[m * p.CO + co] * w[ci * p.CO + co];
  }
  dx[i] = acc;
}
