// Pointwise (1x1) convolution, forward: y[M, Co] = x[M, Ci] * w[Ci, Co],
// a GEMM over the M = N*H*W rows of an NHWC activation. No workgroup memory
// and no barriers: on a software device registers beat shared tiles.
// The grid may be folded into x,y, so the linear workgroup index is
// wid.x + wid.y * nwg.x.

struct Params {
  M: u32,    // rows (product of the leading dims)
  CI: u32,   // input channels
  CO: u32,   // output channels
}

override WG: u32;   // invocations per workgroup
override TM: u32;   // rows per invocation (tiled variant); the body is written for 4

// ---- naive: any Ci, Co ----
// One invocation owns one output element y[m, co] and walks all of Ci.

@group(0) @binding(0) var<storage, read> x: array<f32>;        // [M, Ci]
@group(0) @binding(1) var<storage, read> w: array<f32>;        // [Ci, Co]
@group(0) @binding(2) var<storage, read_write> y: array<f32>;  // [M, Co]
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn naive(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.M * p.CO) { return; }
  let m = i / p.CO;
  let co = i % p.CO;
  var acc = 0.0;
  for (var ci = 0u; ci < p.CI; ci++) {
    acc += x[m * p.CI + ci] * w[ci * p.CO + co];
  }
  y[i] = acc;
}

// ---- tiled: Ci % 4 == 0 and Co % 4 == 0 ----
// One invocation owns a TM x 4 block of y: rows m0 .. m0+TM-1 and the four
// output channels of one vec4 column group. Each step over Ci loads one vec4
// of x per row and four vec4 rows of w, then does 4*TM vec4 FMAs into
// independent accumulators. Neighbouring invocations take neighbouring column
// groups of the same rows, so their w loads and y stores are adjacent.
// Rows past M are clamped on load and skipped on store.

@group(0) @binding(0) var<storage, read> x4: array<vec4f>;        // [M, Ci/4]
@group(0) @binding(1) var<storage, read> w4: array<vec4f>;        // [Ci, Co/4]
@group(0) @binding(2) var<storage, read_write> y4: array<vec4f>;  // [M, Co/4]

@compute @workgroup_size(WG)
fn tiled(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let ci4 = p.CI / 4u;
  let co4 = p.CO / 4u;
  let blocks = (p.M + TM - 1u) / TM;
  let t = (wid.x + wid.y * nwg.x) * WG + lid;
  if (t >= blocks * co4) { return; }
  let cg = t % co4;
  let m0 = (t / co4) * TM;

  // NOTE: the four rows are written out by hand: lavapipe does not unroll a
  // loop over an override, and the array-and-loop form ran 2x slower.
  let r0 = min(m0, p.M - 1u) * ci4;
  let r1 = min(m0 + 1u, p.M - 1u) * ci4;
  let r2 = min(m0 + 2u, p.M - 1u) * ci4;
  let r3 = min(m0 + 3u, p.M - 1u) * ci4;
  var a0 = vec4f(0.0);
  var a1 = vec4f(0.0);
  var a2 = vec4f(0.0);
  var a3 = vec4f(0.0);
  for (var k = 0u; k < ci4; k++) {
    let wb = k * 4u * co4 + cg;
    let w0 = w4[wb];
    let w1 = w4[wb + co4];
    let w2 = w4[wb + 2u * co4];
    let w3 = w4[wb + 3u * co4];
    let x0 = x4[r0 + k];
    let x1 = x4[r1 + k];
    let x2 = x4[r2 + k];
    let x3 = x4[r3 + k];
    a0 += x0.x * w0 + x0.y * w1 + x0.z * w2 + x0.w * w3;
    a1 += x1.x * w0 + x1.y * w1 + x1.z * w2 + x1.w * w3;
    a2 += x2.x * w0 + x2.y * w1 + x2.z * w2 + x2.w * w3;
    a3 += x3.x * w0 + x3.y * w1 + x3.z * w2 + x3.w * w3;
  }

  if (m0 < p.M) { y4[m0 * co4 + cg] = a0; }
  if (m0 + 1u < p.M) { y4[(m0 + 1u) * co4 + cg] = a1; }
  if (m0 + 2u < p.M) { y4[(m0 + 2u) * co4 + cg] = a2; }
  if (m0 + 3u < p.M) { y4[(m0 + 3u) * co4 + cg] = a3; }
}
