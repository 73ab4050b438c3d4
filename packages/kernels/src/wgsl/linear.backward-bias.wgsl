// Fully connected layer, gradient of the bias: db[Co] (+)= sum over n of
// dy[n, Co]. One invocation owns one output feature and adds the rows in
// order (deterministic, no atomics); no workgroup memory, no barriers.
// The linear workgroup index is wid.x + wid.y * nwg.x.

struct Params {
  N: u32,            // rows (batch)
  CO: u32,           // output features
  ACCUMULATE: u32,   // 1: db += sum, 0: db = sum
}

@group(0) @binding(0) var<storage, read> dy: array<f32>;        // [N, Co]
@group(0) @binding(1) var<storage, read_write> db: array<f32>;  // [Co]
@group(0) @binding(2) var<uniform> p: Params;

override WG: u32;   // invocations per workgroup

@compute @workgroup_size(WG)
fn naive(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let co = (wid.x + wid.y * nwg.x) * WG + lid;
  if (co >= p.CO) { return; }
  var acc = 0.0;
  for (var n = 0u; n < p.N; n++) {
    acc += dy[n * p.CO + co];
  }
  if (p.ACCUMULATE != 0u) { acc += db[co]; }
  db[co] = acc;
}
