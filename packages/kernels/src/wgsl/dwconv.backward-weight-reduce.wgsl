// Depthwise convolution, gradient of the weights, second pass: sums the G
// partial sums written by dwconv.backward-weight.wgsl (tiled) in a fixed
// order. One invocation owns one element of dw ({{VEC}} wide); no workgroup
// memory. The linear workgroup index is wid.x + wid.y * nwg.x.

alias V = {{VEC}};

struct Params {
  count: u32,       // elements of dw, in vectors: K * K * CV
  groups: u32,      // G
  accumulate: u32,  // 1 adds into dw, 0 overwrites it
}

@group(0) @binding(0) var<storage, read> partial: array<V>;  // [G, K, K, C]
@group(0) @binding(1) var<storage, read_write> dw: array<V>; // [K, K, C]
@group(0) @binding(2) var<uniform> p: Params;

override WG: u32;   // invocations per workgroup

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.count) { return; }
  var acc = V(0.0);
  for (var g = 0u; g < p.groups; g++) {
    acc += partial[g * p.count + i];
  }
  dw[i] = select(acc, dw[i] + acc, p.accumulate != 0u);
}
