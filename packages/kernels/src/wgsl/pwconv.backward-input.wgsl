// Pointwise (1x1) convolution, gradient of the input:
// dx[M, Ci] = dy[M, Co] * w[Ci, Co]^T. No workgroup memory, no barriers.
// The linear workgroup index is wid.x + wid.y * nwg.x (the grid may be folded).

struct Params {
  M: u32,    // rows (product of the leading dims)
  CI: u32,   // input channels
  CO: u32,   // output channels
}

override WG: u32;   // invocations per workgroup
override TM: u32;   // rows per invocation (tiled variant); the body is written for 4

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

// ---- tiled: Ci % 4 == 0 and Co % 4 == 0 ----
// One invocation owns a 4 x 4 block of dx: rows m0 .. m0+3 and the four
// input channels of one vec4 group. Each step over Co loads one vec4 of dy
// per row and the matching vec4 of each of the four w rows, then adds
// 16 dot products into four vec4 accumulators. Neighbouring invocations take
// neighbouring channel groups of the same rows. Rows past M are clamped on
// load and skipped on store.

@group(0) @binding(0) var<storage, read> dy4: array<vec4f>;       // [M, Co/4]
@group(0) @binding(1) var<storage, read> w4: array<vec4f>;        // [Ci, Co/4]
@group(0) @binding(2) var<storage, read_write> dx4: array<vec4f>; // [M, Ci/4]

@compute @workgroup_size(WG)
fn tiled(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let ci4 = p.CI / 4u;
  let co4 = p.CO / 4u;
  let blocks = (p.M + TM - 1u) / TM;
  let t = (wid.x + wid.y * nwg.x) * WG + lid;
  if (t >= blocks * ci4) { return; }
  let cg = t % ci4;
  let m0 = (t / ci4) * TM;

  // NOTE: the four rows are written out by hand: lavapipe does not unroll a
  // loop over an override, and the array-and-loop form ran 2x slower.
  let r0 = min(m0, p.M - 1u) * co4;
  let r1 = min(m0 + 1u, p.M - 1u) * co4;
  let r2 = min(m0 + 2u, p.M - 1u) * co4;
  let r3 = min(m0 + 3u, p.M - 1u) * co4;
  let wb = cg * 4u * co4;
  var a0 = vec4f(0.0);
  var a1 = vec4f(0.0);
  var a2 = vec4f(0.0);
  var a3 = vec4f(0.0);
  for (var k = 0u; k < co4; k++) {
    let w0 = w4[wb + k];
    let w1 = w4[wb + co4 + k];
    let w2 = w4[wb + 2u * co4 + k];
    let w3 = w4[wb + 3u * co4 + k];
    let d0 = dy4[r0 + k];
    let d1 = dy4[r1 + k];
    let d2 = dy4[r2 + k];
    let d3 = dy4[r3 + k];
    a0 += vec4f(dot(d0, w0), dot(d0, w1), dot(d0, w2), dot(d0, w3));
    a1 += vec4f(dot(d1, w0), dot(d1, w1), dot(d1, w2), dot(d1, w3));
    a2 += vec4f(dot(d2, w0), dot(d2, w1), dot(d2, w2), dot(d2, w3));
    a3 += vec4f(dot(d3, w0), dot(d3, w1), dot(d3, w2), dot(d3, w3));
  }

  if (m0 < p.M) { dx4[m0 * ci4 + cg] = a0; }
  if (m0 + 1u < p.M) { dx4[(m0 + 1u) * ci4 + cg] = a1; }
  if (m0 + 2u < p.M) { dx4[(m0 + 2u) * ci4 + cg] = a2; }
  if (m0 + 3u < p.M) { dx4[(m0 + 3u) * ci4 + cg] = a3; }
}
