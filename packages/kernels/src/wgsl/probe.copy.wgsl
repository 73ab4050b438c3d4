// Copy-bound probe: the streaming-bandwidth ceiling that kernel benchmarks
// are compared with. One invocation copies PER vec4s; in each of its PER
// steps the invocations of a workgroup touch WG consecutive vec4s, so
// neighbouring invocations read and write neighbouring addresses. No
// workgroup memory, no barriers. Bytes moved = count * 16 * 2.

struct Params {
  count: u32,   // vec4s in src and dst
}

@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;        // [count]
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;  // [count]
@group(0) @binding(2) var<uniform> p: Params;

override WG: u32;    // invocations per workgroup
override PER: u32;   // vec4s per invocation

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let base = (wid.x + wid.y * nwg.x) * WG * PER + lid;
  for (var j = 0u; j < PER; j++) {
    let i = base + j * WG;
    if (i < p.count) {
      dst[i] = src[i];
    }
  }
}
