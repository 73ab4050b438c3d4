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
override TM: u32;   // rows per block (tiled variant); the body is written for 8
override RB: u32;   // row blocks per invocation (tiled variant)

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
// One invocation owns an 8 x 8 block of y: rows m0 .. m0+7 and the eight
// output channels of two neighbouring vec4 groups c0, c0+1. Each step over
// Ci loads one vec4 of x per row and four w rows of two vec4s, then does
// 64 vec4 FMAs into 16 independent accumulators. On lavapipe every
// storage-buffer load is issued lane by lane, so the block is sized to
// maximise FMAs per loaded element (8 rows x 8 channels measured ~1.3x
// over 4 x 4). Neighbouring invocations take neighbouring column pairs of
// the same rows, so their x loads coincide and their y stores are adjacent.
// Rows past M and a missing second group (odd Co/4) are clamped on load and
// skipped on store.

@group(0) @binding(0) var<storage, read> x4: array<vec4f>;        // [M, Ci/4]
@group(0) @binding(1) var<storage, read> w4: array<vec4f>;        // [Ci, Co/4]
@group(0) @binding(2) var<storage, read_write> y4: array<vec4f>;  // [M, Co/4]

@compute @workgroup_size(WG)
fn tiled(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let ci4 = p.CI / 4u;
  let co4 = p.CO / 4u;
  let pairs = (co4 + 1u) / 2u;
  let blocks = (p.M + TM * RB - 1u) / (TM * RB);
  let t = (wid.x + wid.y * nwg.x) * WG + lid;
  if (t >= blocks * pairs) { return; }
  let c0 = (t % pairs) * 2u;
  let c1 = min(c0 + 1u, co4 - 1u);
  let mb = (t / pairs) * TM * RB;
  for (var rb = 0u; rb < RB; rb++) {
    let m0 = mb + rb * TM;

    // NOTE: the block is written out by hand: lavapipe does not unroll a loop
    // over an override, and the array-and-loop form ran 2x slower.
    let r0 = min(m0 + 0u, p.M - 1u) * ci4;
    let r1 = min(m0 + 1u, p.M - 1u) * ci4;
    let r2 = min(m0 + 2u, p.M - 1u) * ci4;
    let r3 = min(m0 + 3u, p.M - 1u) * ci4;
    let r4 = min(m0 + 4u, p.M - 1u) * ci4;
    let r5 = min(m0 + 5u, p.M - 1u) * ci4;
    let r6 = min(m0 + 6u, p.M - 1u) * ci4;
    let r7 = min(m0 + 7u, p.M - 1u) * ci4;
    var a00 = vec4f(0.0);
    var a01 = vec4f(0.0);
    var a10 = vec4f(0.0);
    var a11 = vec4f(0.0);
    var a20 = vec4f(0.0);
    var a21 = vec4f(0.0);
    var a30 = vec4f(0.0);
    var a31 = vec4f(0.0);
    var a40 = vec4f(0.0);
    var a41 = vec4f(0.0);
    var a50 = vec4f(0.0);
    var a51 = vec4f(0.0);
    var a60 = vec4f(0.0);
    var a61 = vec4f(0.0);
    var a70 = vec4f(0.0);
    var a71 = vec4f(0.0);
    for (var k = 0u; k < ci4; k++) {
      let wb = k * 4u * co4;
      let w00 = w4[wb + c0];
      let w01 = w4[wb + c1];
      let w10 = w4[wb + 1u * co4 + c0];
      let w11 = w4[wb + 1u * co4 + c1];
      let w20 = w4[wb + 2u * co4 + c0];
      let w21 = w4[wb + 2u * co4 + c1];
      let w30 = w4[wb + 3u * co4 + c0];
      let w31 = w4[wb + 3u * co4 + c1];
      let xr0 = x4[r0 + k];
      a00 = fma(vec4f(xr0.x), w00, fma(vec4f(xr0.y), w10, fma(vec4f(xr0.z), w20, fma(vec4f(xr0.w), w30, a00))));
      a01 = fma(vec4f(xr0.x), w01, fma(vec4f(xr0.y), w11, fma(vec4f(xr0.z), w21, fma(vec4f(xr0.w), w31, a01))));
      let xr1 = x4[r1 + k];
      a10 = fma(vec4f(xr1.x), w00, fma(vec4f(xr1.y), w10, fma(vec4f(xr1.z), w20, fma(vec4f(xr1.w), w30, a10))));
      a11 = fma(vec4f(xr1.x), w01, fma(vec4f(xr1.y), w11, fma(vec4f(xr1.z), w21, fma(vec4f(xr1.w), w31, a11))));
      let xr2 = x4[r2 + k];
      a20 = fma(vec4f(xr2.x), w00, fma(vec4f(xr2.y), w10, fma(vec4f(xr2.z), w20, fma(vec4f(xr2.w), w30, a20))));
      a21 = fma(vec4f(xr2.x), w01, fma(vec4f(xr2.y), w11, fma(vec4f(xr2.z), w21, fma(vec4f(xr2.w), w31, a21))));
      let xr3 = x4[r3 + k];
      a30 = fma(vec4f(xr3.x), w00, fma(vec4f(xr3.y), w10, fma(vec4f(xr3.z), w20, fma(vec4f(xr3.w), w30, a30))));
      a31 = fma(vec4f(xr3.x), w01, fma(vec4f(xr3.y), w11, fma(vec4f(xr3.z), w21, fma(vec4f(xr3.w), w31, a31))));
      let xr4 = x4[r4 + k];
      a40 = fma(vec4f(xr4.x), w00, fma(vec4f(xr4.y), w10, fma(vec4f(xr4.z), w20, fma(vec4f(xr4.w), w30, a40))));
      a41 = fma(vec4f(xr4.x), w01, fma(vec4f(xr4.y), w11, fma(vec4f(xr4.z), w21, fma(vec4f(xr4.w), w31, a41))));
      let xr5 = x4[r5 + k];
      a50 = fma(vec4f(xr5.x), w00, fma(vec4f(xr5.y), w10, fma(vec4f(xr5.z), w20, fma(vec4f(xr5.w), w30, a50))));
      a51 = fma(vec4f(xr5.x), w01, fma(vec4f(xr5.y), w11, fma(vec4f(xr5.z), w21, fma(vec4f(xr5.w), w31, a51))));
      let xr6 = x4[r6 + k];
      a60 = fma(vec4f(xr6.x), w00, fma(vec4f(xr6.y), w10, fma(vec4f(xr6.z), w20, fma(vec4f(xr6.w), w30, a60))));
      a61 = fma(vec4f(xr6.x), w01, fma(vec4f(xr6.y), w11, fma(vec4f(xr6.z), w21, fma(vec4f(xr6.w), w31, a61))));
      let xr7 = x4[r7 + k];
      a70 = fma(vec4f(xr7.x), w00, fma(vec4f(xr7.y), w10, fma(vec4f(xr7.z), w20, fma(vec4f(xr7.w), w30, a70))));
      a71 = fma(vec4f(xr7.x), w01, fma(vec4f(xr7.y), w11, fma(vec4f(xr7.z), w21, fma(vec4f(xr7.w), w31, a71))));
    }

    if (m0 + 0u < p.M) {
      y4[(m0 + 0u) * co4 + c0] = a00;
      if (c0 + 1u < co4) { y4[(m0 + 0u) * co4 + c0 + 1u] = a01; }
    }
    if (m0 + 1u < p.M) {
      y4[(m0 + 1u) * co4 + c0] = a10;
      if (c0 + 1u < co4) { y4[(m0 + 1u) * co4 + c0 + 1u] = a11; }
    }
    if (m0 + 2u < p.M) {
      y4[(m0 + 2u) * co4 + c0] = a20;
      if (c0 + 1u < co4) { y4[(m0 + 2u) * co4 + c0 + 1u] = a21; }
    }
    if (m0 + 3u < p.M) {
      y4[(m0 + 3u) * co4 + c0] = a30;
      if (c0 + 1u < co4) { y4[(m0 + 3u) * co4 + c0 + 1u] = a31; }
    }
    if (m0 + 4u < p.M) {
      y4[(m0 + 4u) * co4 + c0] = a40;
      if (c0 + 1u < co4) { y4[(m0 + 4u) * co4 + c0 + 1u] = a41; }
    }
    if (m0 + 5u < p.M) {
      y4[(m0 + 5u) * co4 + c0] = a50;
      if (c0 + 1u < co4) { y4[(m0 + 5u) * co4 + c0 + 1u] = a51; }
    }
    if (m0 + 6u < p.M) {
      y4[(m0 + 6u) * co4 + c0] = a60;
      if (c0 + 1u < co4) { y4[(m0 + 6u) * co4 + c0 + 1u] = a61; }
    }
    if (m0 + 7u < p.M) {
      y4[(m0 + 7u) * co4 + c0] = a70;
      if (c0 + 1u < co4) { y4[(m0 + 7u) * co4 + c0 + 1u] = a71; }
    }
  }
}
