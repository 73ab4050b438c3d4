// Pointwise (1x1) convolution, gradient of the input:
// dx[M, Ci] = dy[M, Co] * w[Ci, Co]^T. No workgroup memory, no barriers.
// The linear workgroup index is wid.x + wid.y * nwg.x (the grid may be folded).

struct Params {
  M: u32,    // rows (product of the leading dims)
  CI: u32,   // input channels
  CO: u32,   // output channels
}

override WG: u32;   // invocations per workgroup
override TM: u32;   // rows per block (tiled variant); the body is written for 8
override RB: u32;   // row blocks per invocation (tiled variant)

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
// One invocation owns RB blocks of 8 rows x 8 input channels of dx: rows
// mb .. mb + 8*RB - 1 and the channels of two neighbouring vec4 groups
// g0, g0+1 (RB shares the index set-up). For each block, each step over
// Co loads one vec4 of dy per row and the matching vec4 of each of the eight
// w rows, then adds 64 dot products into 16 vec4 accumulators (sized for
// lavapipe's lane-by-lane loads, as in the forward). Neighbouring
// invocations take neighbouring channel pairs of the same rows. Rows past M
// and a missing second group (odd Ci/4) are clamped on load and skipped on
// store.

@group(0) @binding(0) var<storage, read> dy4: array<vec4f>;       // [M, Co/4]
@group(0) @binding(1) var<storage, read> w4: array<vec4f>;        // [Ci, Co/4]
@group(0) @binding(2) var<storage, read_write> dx4: array<vec4f>; // [M, Ci/4]

@compute @workgroup_size(WG)
fn tiled(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let ci4 = p.CI / 4u;
  let co4 = p.CO / 4u;
  let pairs = (ci4 + 1u) / 2u;
  let blocks = (p.M + TM * RB - 1u) / (TM * RB);
  let t = (wid.x + wid.y * nwg.x) * WG + lid;
  if (t >= blocks * pairs) { return; }
  let g0 = (t % pairs) * 2u;
  let g1 = min(g0 + 1u, ci4 - 1u);
  let mb = (t / pairs) * TM * RB;
  let wb0 = g0 * 4u * co4;
  let wb1 = g1 * 4u * co4;
  for (var rb = 0u; rb < RB; rb++) {
    let m0 = mb + rb * TM;

    // NOTE: the block is written out by hand: lavapipe does not unroll a loop
    // over an override, and the array-and-loop form ran 2x slower.
    let r0 = min(m0 + 0u, p.M - 1u) * co4;
    let r1 = min(m0 + 1u, p.M - 1u) * co4;
    let r2 = min(m0 + 2u, p.M - 1u) * co4;
    let r3 = min(m0 + 3u, p.M - 1u) * co4;
    let r4 = min(m0 + 4u, p.M - 1u) * co4;
    let r5 = min(m0 + 5u, p.M - 1u) * co4;
    let r6 = min(m0 + 6u, p.M - 1u) * co4;
    let r7 = min(m0 + 7u, p.M - 1u) * co4;
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
    for (var k = 0u; k < co4; k++) {
      let w00 = w4[wb0 + k];
      let w01 = w4[wb0 + 1u * co4 + k];
      let w02 = w4[wb0 + 2u * co4 + k];
      let w03 = w4[wb0 + 3u * co4 + k];
      let w10 = w4[wb1 + k];
      let w11 = w4[wb1 + 1u * co4 + k];
      let w12 = w4[wb1 + 2u * co4 + k];
      let w13 = w4[wb1 + 3u * co4 + k];
      let d0 = dy4[r0 + k];
      a00 += vec4f(dot(d0, w00), dot(d0, w01), dot(d0, w02), dot(d0, w03));
      a01 += vec4f(dot(d0, w10), dot(d0, w11), dot(d0, w12), dot(d0, w13));
      let d1 = dy4[r1 + k];
      a10 += vec4f(dot(d1, w00), dot(d1, w01), dot(d1, w02), dot(d1, w03));
      a11 += vec4f(dot(d1, w10), dot(d1, w11), dot(d1, w12), dot(d1, w13));
      let d2 = dy4[r2 + k];
      a20 += vec4f(dot(d2, w00), dot(d2, w01), dot(d2, w02), dot(d2, w03));
      a21 += vec4f(dot(d2, w10), dot(d2, w11), dot(d2, w12), dot(d2, w13));
      let d3 = dy4[r3 + k];
      a30 += vec4f(dot(d3, w00), dot(d3, w01), dot(d3, w02), dot(d3, w03));
      a31 += vec4f(dot(d3, w10), dot(d3, w11), dot(d3, w12), dot(d3, w13));
      let d4 = dy4[r4 + k];
      a40 += vec4f(dot(d4, w00), dot(d4, w01), dot(d4, w02), dot(d4, w03));
      a41 += vec4f(dot(d4, w10), dot(d4, w11), dot(d4, w12), dot(d4, w13));
      let d5 = dy4[r5 + k];
      a50 += vec4f(dot(d5, w00), dot(d5, w01), dot(d5, w02), dot(d5, w03));
      a51 += vec4f(dot(d5, w10), dot(d5, w11), dot(d5, w12), dot(d5, w13));
      let d6 = dy4[r6 + k];
      a60 += vec4f(dot(d6, w00), dot(d6, w01), dot(d6, w02), dot(d6, w03));
      a61 += vec4f(dot(d6, w10), dot(d6, w11), dot(d6, w12), dot(d6, w13));
      let d7 = dy4[r7 + k];
      a70 += vec4f(dot(d7, w00), dot(d7, w01), dot(d7, w02), dot(d7, w03));
      a71 += vec4f(dot(d7, w10), dot(d7, w11), dot(d7, w12), dot(d7, w13));
    }

    if (m0 + 0u < p.M) {
      dx4[(m0 + 0u) * ci4 + g0] = a00;
      if (g0 + 1u < ci4) { dx4[(m0 + 0u) * ci4 + g0 + 1u] = a01; }
    }
    if (m0 + 1u < p.M) {
      dx4[(m0 + 1u) * ci4 + g0] = a10;
      if (g0 + 1u < ci4) { dx4[(m0 + 1u) * ci4 + g0 + 1u] = a11; }
    }
    if (m0 + 2u < p.M) {
      dx4[(m0 + 2u) * ci4 + g0] = a20;
      if (g0 + 1u < ci4) { dx4[(m0 + 2u) * ci4 + g0 + 1u] = a21; }
    }
    if (m0 + 3u < p.M) {
      dx4[(m0 + 3u) * ci4 + g0] = a30;
      if (g0 + 1u < ci4) { dx4[(m0 + 3u) * ci4 + g0 + 1u] = a31; }
    }
    if (m0 + 4u < p.M) {
      dx4[(m0 + 4u) * ci4 + g0] = a40;
      if (g0 + 1u < ci4) { dx4[(m0 + 4u) * ci4 + g0 + 1u] = a41; }
    }
    if (m0 + 5u < p.M) {
      dx4[(m0 + 5u) * ci4 + g0] = a50;
      if (g0 + 1u < ci4) { dx4[(m0 + 5u) * ci4 + g0 + 1u] = a51; }
    }
    if (m0 + 6u < p.M) {
      dx4[(m0 + 6u) * ci4 + g0] = a60;
      if (g0 + 1u < ci4) { dx4[(m0 + 6u) * ci4 + g0 + 1u] = a61; }
    }
    if (m0 + 7u < p.M) {
      dx4[(m0 + 7u) * ci4 + g0] = a70;
      if (g0 + 1u < ci4) { dx4[(m0 + 7u) * ci4 + g0 + 1u] = a71; }
    }
  }
}
