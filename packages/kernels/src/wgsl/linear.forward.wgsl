// Fully connected layer, forward: y[N, Co] = x[N, Ci] * w[Ci, Co] + b[Co].
// The classifier is tiny next to the convolutions (N*Co outputs), so one
// invocation owns one output element and walks all of Ci; no workgroup
// memory, no barriers. Neighbouring invocations take neighbouring output
// channels of one row, so their w loads are adjacent. The linear workgroup
// index is wid.x + wid.y * nwg.x (the grid may be folded).

struct Params {
  N: u32,    // rows (batch)
  CI: u32,   // input features
  CO: u32,   // output features
}

@group(0) @binding(0) var<storage, read> x: array<f32>;        // [N, Ci]
@group(0) @binding(1) var<storage, read> w: array<f32>;        // [Ci, Co]
@group(0) @binding(2) var<storage, read> b: array<f32>;        // [Co]
@group(0) @binding(3) var<storage, read_write> y: array<f32>;  // [N, Co]
@group(0) @binding(4) var<uniform> p: Params;

override WG: u32;   // invocations per workgroup

@compute @workgroup_size(WG)
fn naive(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.N * p.CO) { return; }
  let n = i / p.CO;
  let co = i % p.CO;
  var acc = b[co];
  for (var ci = 0u; ci < p.CI; ci++) {
    acc += x[n * p.CI + ci] * w[ci * p.CO + co];
  }
  y[i] = acc;
}
