// out = a + b on flat same-shape tensors. {{VEC}} is vec4f when the element
// count is a multiple of 4, else f32. One invocation owns four consecutive
// vectors; a workgroup's invocations interleave so neighbours touch
// neighbouring addresses. No workgroup memory. The linear workgroup index
// is wid.x + wid.y * nwg.x.

alias V = {{VEC}};

struct Params {
  count: u32,   // vectors in every tensor
}

@group(0) @binding(0) var<storage, read> a: array<V>;          // [count]
@group(0) @binding(1) var<storage, read> b: array<V>;          // [count]
@group(0) @binding(2) var<storage, read_write> out: array<V>;  // [count]
@group(0) @binding(3) var<uniform> p: Params;

override WG: u32;   // invocations per workgroup

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let first = (wid.x + wid.y * nwg.x) * WG * 4u + lid;
  for (var j = 0u; j < 4u; j++) {
    let i = first + j * WG;
    if (i < p.count) { out[i] = a[i] + b[i]; }
  }
}
