// Inverted dropout (forward and backward alike: out = in * mask * scale).
// The mask of float element e is a pure function of (key, e), so backward
// rebuilds exactly the forward mask without storing it. Tensors are read
// as {{T}}; one invocation owns PER consecutive {{T}} elements. No
// workgroup memory, no barriers.

struct Params {
  count: u32,       // {{T}} elements
  key: u32,         // mix32(seed ^ 0x9e3779b9), from the host
  threshold: u32,   // round(rate * 2^24): drop when the hash's top 24 bits are below it
  scale: f32,       // 1 / (1 - rate)
}

@group(0) @binding(0) var<storage, read> src: array<{{T}}>;         // [count] x or dy
@group(0) @binding(1) var<storage, read_write> dst: array<{{T}}>;   // [count] y or dx
@group(0) @binding(2) var<uniform> p: Params;

override WG: u32;    // invocations per workgroup
override PER: u32;   // consecutive {{T}} elements per invocation

// A 32-bit integer finalizer (xor-shift / multiply rounds).
fn mix32(v: u32) -> u32 {
  var h = v;
  h ^= h >> 16u;
  h *= 0x7feb352du;
  h ^= h >> 15u;
  h *= 0x846ca68bu;
  h ^= h >> 16u;
  return h;
}

// scale where float element e is kept, else 0.
fn keep(e: u32) -> f32 {
  let h = mix32(mix32(e ^ p.key) + p.key);
  return select(0.0, p.scale, (h >> 8u) >= p.threshold);
}

fn maskAt(i: u32) -> {{T}} {
  return {{T}}({{MASK_ARGS}});
}

@compute @workgroup_size(WG)
fn apply(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let first = ((wid.x + wid.y * nwg.x) * WG + lid) * PER;
  for (var j = 0u; j < PER; j++) {
    let i = first + j;
    if (i < p.count) {
      dst[i] = src[i] * maskAt(i);
    }
  }
}
