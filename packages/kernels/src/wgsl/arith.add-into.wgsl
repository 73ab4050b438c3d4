// dst += src on flat same-shape tensors. {{VEC}} is vec4f when the element
// count is a multiple of 4, else f32. One invocation owns four vectors,
// WG apart, so neighbours touch neighbouring addresses. No workgroup memory.
// The linear workgroup index is wid.x + wid.y * nwg.x.

alias V = {{VEC}};

struct Params {
  count: u32,   // vectors in each tensor
}

@group(0) @binding(0) var<storage, read_write> dst: array<V>;  // [count]
@group(0) @binding(1) var<storage, read> src: array<V>;        // [count]
@group(0) @binding(2) var<uniform> p: Params;

override WG: u32;   // invocations per workgroup

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let first = (wid.x + wid.y * nwg.x) * WG * 4u + lid;
  for (var j = 0u; j < 4u; j++) {
    let i = first + j * WG;
    if (i < p.count) { dst[i] = dst[i] + src[i]; }
  }
}
