// Fused SGD step, PyTorch convention:
//   g' = g + wd * w;  m = mu * m + g';  step = nesterov ? g' + mu * m : m;
//   w -= lr * step.
// w, g, m are flat arrays read as {{T}}. The host runs the vec4 module over
// the whole vec4s and the f32 module over the 0-3 float tail (offset > 0).
// One invocation owns PER consecutive {{T}} elements; no workgroup memory,
// no barriers.

struct Params {
  count: u32,      // {{T}} elements in each array (bound of the loop)
  offset: u32,     // first {{T}} element this dispatch updates
  lr: f32,
  momentum: f32,   // mu
  weightDecay: f32,
  nesterov: u32,   // 0 or 1
}

@group(0) @binding(0) var<storage, read_write> w: array<{{T}}>;   // [count] weights
@group(0) @binding(1) var<storage, read> g: array<{{T}}>;         // [count] gradient
@group(0) @binding(2) var<storage, read_write> m: array<{{T}}>;   // [count] momentum buffer
@group(0) @binding(3) var<uniform> p: Params;

override WG: u32;    // invocations per workgroup
override PER: u32;   // consecutive {{T}} elements per invocation

@compute @workgroup_size(WG)
fn update(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
          @builtin(local_invocation_index) lid: u32) {
  let first = p.offset + ((wid.x + wid.y * nwg.x) * WG + lid) * PER;
  for (var j = 0u; j < PER; j++) {
    let i = first + j;
    if (i < p.count) {
      let wv = w[i];
      let gv = fma({{T}}(p.weightDecay), wv, g[i]);
      let mv = fma({{T}}(p.momentum), m[i], gv);
      m[i] = mv;
      let step = select(mv, fma({{T}}(p.momentum), mv, gv), p.nesterov != 0u);
      w[i] = wv - p.lr * step;
    }
  }
}
