// Squeeze-and-excitation pieces, forward: per-(image, channel) scaling and
// the sigmoid / ReLU of the excitation. Tensors are read as {{T}} (LANES
// consecutive floats); the host picks LANES = 4 when the shape allows.

struct Params {
  count: u32,   // {{T}} elements in x (and y)
  cols: u32,    // C / LANES (channelScale only)
  plane: u32,   // H * W * C / LANES (channelScale only)
}

override WG: u32;    // invocations per workgroup
override PER: u32;   // consecutive {{T}} elements per invocation

fn firstOf(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return ((wid.x + wid.y * nwg.x) * WG + lid) * PER;
}

@group(0) @binding(0) var<storage, read> x: array<{{T}}>;          // [N, H, W, C]
@group(0) @binding(1) var<storage, read> s: array<{{T}}>;          // [N, C]
@group(0) @binding(2) var<storage, read_write> y: array<{{T}}>;    // [N, H, W, C]
@group(0) @binding(3) var<uniform> p: Params;

// y[n, h, w, c] = x[n, h, w, c] * s[n, c]. One invocation owns PER
// consecutive elements; no workgroup memory, no barriers.
@compute @workgroup_size(WG)
fn scale(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let first = firstOf(wid, nwg, lid);
  for (var j = 0u; j < PER; j++) {
    let i = first + j;
    if (i < p.count) {
      y[i] = x[i] * s[(i / p.plane) * p.cols + i % p.cols];
    }
  }
}

@group(0) @binding(0) var<storage, read> ux: array<{{T}}>;         // [count]
@group(0) @binding(1) var<storage, read_write> uy: array<{{T}}>;   // [count]
@group(0) @binding(2) var<uniform> up: Params;

// y = 1 / (1 + exp(-x)); x is clamped to +-80 so exp never overflows.
@compute @workgroup_size(WG)
fn sigmoid(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let first = firstOf(wid, nwg, lid);
  for (var j = 0u; j < PER; j++) {
    let i = first + j;
    if (i < up.count) {
      let v = clamp(ux[i], {{T}}(-80.0), {{T}}(80.0));
      uy[i] = 1.0 / (1.0 + exp(-v));
    }
  }
}

// y = max(x, 0).
@compute @workgroup_size(WG)
fn relu(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let first = firstOf(wid, nwg, lid);
  for (var j = 0u; j < PER; j++) {
    let i = first + j;
    if (i < up.count) {
      uy[i] = max(ux[i], {{T}}(0.0));
    }
  }
}
