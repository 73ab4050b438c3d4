// Pointwise (1x1) convolution, forward: y[M, Co] = x[M, Ci] * w[Ci, Co],
// a GEMM over the M = N*H*W rows of an NHWC activation. No workgroup memory
// and no barriers: on a software device registers beat shared tiles.
// The grid may be folded into x,y, so the linear workgroup index is
// wid.x + wid.y * nwg.x.
//
// The PRE slot holds prek/pre: the tiled kernel's optional batch-norm prologue
// on x (BnPrologue in batchnorm.ts), a table coef [3, Ci] at binding 3
// whose three values for input channel k are loaded once per k and applied
// to the eight x values of that k. Without it they are the identity and
// compile away. The same slot holds post: a tensor r [M, Co] the tiled
// kernel adds to what it stores (a fused residual, y = x w + r), or zero.
// The PB slot is the uniform's binding, after x, w, y and the optional
// coef and r.

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
@group(0) @binding({{PB}}) var<uniform> p: Params;

{{PRE}}

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

// ---- tiled: Co % 4 == 0 ----
// One invocation owns RB blocks of 8 rows x 8 output channels of y: rows
// mb .. mb + 8*RB - 1 and the channels of two neighbouring vec4 groups
// c0, c0+1. For each block, each input channel k loads one x scalar per row
// and two vec4s of w row k, then does 16 vec4 FMAs into 16 independent
// accumulators. On lavapipe every storage-buffer load is issued lane by
// lane and the compiled loop body is large, so the body is kept small and
// the set-up (divisions) is shared by RB blocks; this measured ~1.5x over a
// 4 x 4 tile stepping Ci in vec4s. Neighbouring invocations take
// neighbouring column pairs of the same rows, so their x loads coincide and
// their y stores are adjacent. Rows past M and a missing second group (odd
// Co/4) are clamped on load and skipped on store.

@group(0) @binding(1) var<storage, read> w4: array<vec4f>;        // [Ci, Co/4]
@group(0) @binding(2) var<storage, read_write> y4: array<vec4f>;  // [M, Co/4]

@compute @workgroup_size(WG)
fn tiled(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
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
    let r0 = min(m0 + 0u, p.M - 1u) * p.CI;
    let r1 = min(m0 + 1u, p.M - 1u) * p.CI;
    let r2 = min(m0 + 2u, p.M - 1u) * p.CI;
    let r3 = min(m0 + 3u, p.M - 1u) * p.CI;
    let r4 = min(m0 + 4u, p.M - 1u) * p.CI;
    let r5 = min(m0 + 5u, p.M - 1u) * p.CI;
    let r6 = min(m0 + 6u, p.M - 1u) * p.CI;
    let r7 = min(m0 + 7u, p.M - 1u) * p.CI;
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
    for (var k = 0u; k < p.CI; k++) {
      let pk = prek(k);
      let w0 = w4[k * co4 + c0];
      let w1 = w4[k * co4 + c1];
      let xs0 = vec4f(pre(x[r0 + k], pk));
      a00 = fma(xs0, w0, a00);
      a01 = fma(xs0, w1, a01);
      let xs1 = vec4f(pre(x[r1 + k], pk));
      a10 = fma(xs1, w0, a10);
      a11 = fma(xs1, w1, a11);
      let xs2 = vec4f(pre(x[r2 + k], pk));
      a20 = fma(xs2, w0, a20);
      a21 = fma(xs2, w1, a21);
      let xs3 = vec4f(pre(x[r3 + k], pk));
      a30 = fma(xs3, w0, a30);
      a31 = fma(xs3, w1, a31);
      let xs4 = vec4f(pre(x[r4 + k], pk));
      a40 = fma(xs4, w0, a40);
      a41 = fma(xs4, w1, a41);
      let xs5 = vec4f(pre(x[r5 + k], pk));
      a50 = fma(xs5, w0, a50);
      a51 = fma(xs5, w1, a51);
      let xs6 = vec4f(pre(x[r6 + k], pk));
      a60 = fma(xs6, w0, a60);
      a61 = fma(xs6, w1, a61);
      let xs7 = vec4f(pre(x[r7 + k], pk));
      a70 = fma(xs7, w0, a70);
      a71 = fma(xs7, w1, a71);
    }

    if (m0 + 0u < p.M) {
      let o0 = (m0 + 0u) * co4 + c0;
      y4[o0] = a00 + post(o0);
      if (c0 + 1u < co4) { y4[o0 + 1u] = a01 + post(o0 + 1u); }
    }
    if (m0 + 1u < p.M) {
      let o1 = (m0 + 1u) * co4 + c0;
      y4[o1] = a10 + post(o1);
      if (c0 + 1u < co4) { y4[o1 + 1u] = a11 + post(o1 + 1u); }
    }
    if (m0 + 2u < p.M) {
      let o2 = (m0 + 2u) * co4 + c0;
      y4[o2] = a20 + post(o2);
      if (c0 + 1u < co4) { y4[o2 + 1u] = a21 + post(o2 + 1u); }
    }
    if (m0 + 3u < p.M) {
      let o3 = (m0 + 3u) * co4 + c0;
      y4[o3] = a30 + post(o3);
      if (c0 + 1u < co4) { y4[o3 + 1u] = a31 + post(o3 + 1u); }
    }
    if (m0 + 4u < p.M) {
      let o4 = (m0 + 4u) * co4 + c0;
      y4[o4] = a40 + post(o4);
      if (c0 + 1u < co4) { y4[o4 + 1u] = a41 + post(o4 + 1u); }
    }
    if (m0 + 5u < p.M) {
      let o5 = (m0 + 5u) * co4 + c0;
      y4[o5] = a50 + post(o5);
      if (c0 + 1u < co4) { y4[o5 + 1u] = a51 + post(o5 + 1u); }
    }
    if (m0 + 6u < p.M) {
      let o6 = (m0 + 6u) * co4 + c0;
      y4[o6] = a60 + post(o6);
      if (c0 + 1u < co4) { y4[o6 + 1u] = a61 + post(o6 + 1u); }
    }
    if (m0 + 7u < p.M) {
      let o7 = (m0 + 7u) * co4 + c0;
      y4[o7] = a70 + post(o7);
      if (c0 + 1u < co4) { y4[o7 + 1u] = a71 + post(o7 + 1u); }
    }
  }
}
