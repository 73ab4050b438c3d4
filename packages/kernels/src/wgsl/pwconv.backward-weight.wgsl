// Pointwise (1x1) convolution, gradient of the weight:
// dw[Ci, Co] (+)= x[M, Ci]^T * dy[M, Co], a reduction over the M rows.
// No float atomics: the split variant writes one partial sum per slice of
// rows and `reduce` adds the slices in a fixed order, so results are
// bit-for-bit repeatable. No workgroup memory, no barriers. The linear
// workgroup index is wid.x + wid.y * nwg.x (the grid may be folded).
//
// The PRE slot holds prek4/pre4: the split kernel's optional batch-norm prologue
// on x (BnPrologue in batchnorm.ts), a table coef [3, Ci] at binding 3 read
// once per invocation for its two input-channel groups. Without it they are
// the identity and compile away. The PB slot is the split's uniform binding (3,
// or 4 after coef).

struct Params {
  M: u32,            // rows (product of the leading dims)
  CI: u32,           // input channels
  CO: u32,           // output channels
  ROWS: u32,         // rows per slice (split variant)
  SLICES: u32,       // number of slices (split and reduce)
  ACCUMULATE: u32,   // 1: dw += result, 0: dw = result (naive and reduce)
}

override WG: u32;   // invocations per workgroup

// ---- naive: any Ci, Co ----
// One invocation owns one element dw[ci, co] and walks all M rows.

@group(0) @binding(0) var<storage, read> x: array<f32>;         // [M, Ci]
@group(0) @binding(1) var<storage, read> dy: array<f32>;        // [M, Co]
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;  // [Ci, Co]
@group(0) @binding({{PB}}) var<uniform> p: Params;

{{PRE}}

@compute @workgroup_size(WG)
fn naive(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.CI * p.CO) { return; }
  let ci = i / p.CO;
  let co = i % p.CO;
  var acc = 0.0;
  for (var m = 0u; m < p.M; m++) {
    acc += x[m * p.CI + ci] * dy[m * p.CO + co];
  }
  if (p.ACCUMULATE != 0u) { acc += dw[i]; }
  dw[i] = acc;
}

// ---- split: Ci % 4 == 0 and Co % 4 == 0 ----
// One invocation owns an 8 x 8 block of one slice's partial sum: input
// channels of the vec4 groups g0, g0+1 and output channels of the vec4
// groups o0, o0+1, over rows [s * ROWS, (s + 1) * ROWS). Each row loads two
// vec4s of x and two of dy and does 16 vec4 FMAs into 16 accumulators.
// Neighbouring invocations take neighbouring output-channel pairs, so their
// dy loads are adjacent and their x loads coincide. A missing second group
// (odd Ci/4 or Co/4) is clamped on load and skipped on store.

@group(0) @binding(0) var<storage, read> x4: array<vec4f>;          // [M, Ci/4]
@group(0) @binding(1) var<storage, read> dy4: array<vec4f>;         // [M, Co/4]
@group(0) @binding(2) var<storage, read_write> part4: array<vec4f>; // [SLICES, Ci, Co/4]

@compute @workgroup_size(WG)
fn split(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let ci4 = p.CI / 4u;
  let co4 = p.CO / 4u;
  let oPairs = (co4 + 1u) / 2u;
  let tiles = ((ci4 + 1u) / 2u) * oPairs;
  let t = (wid.x + wid.y * nwg.x) * WG + lid;
  if (t >= tiles * p.SLICES) { return; }
  let s = t / tiles;
  let g0 = ((t % tiles) / oPairs) * 2u;
  let o0 = (t % oPairs) * 2u;
  let g1 = min(g0 + 1u, ci4 - 1u);
  let o1 = min(o0 + 1u, co4 - 1u);
  let mEnd = min(p.M, (s + 1u) * p.ROWS);
  let pa = prek4(g0);
  let pb = prek4(g1);

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
  for (var m = s * p.ROWS; m < mEnd; m++) {
    let xa = pre4(x4[m * ci4 + g0], pa);
    let xb = pre4(x4[m * ci4 + g1], pb);
    let da = dy4[m * co4 + o0];
    let db = dy4[m * co4 + o1];
    a00 = fma(vec4f(xa.x), da, a00);
    a01 = fma(vec4f(xa.x), db, a01);
    a10 = fma(vec4f(xa.y), da, a10);
    a11 = fma(vec4f(xa.y), db, a11);
    a20 = fma(vec4f(xa.z), da, a20);
    a21 = fma(vec4f(xa.z), db, a21);
    a30 = fma(vec4f(xa.w), da, a30);
    a31 = fma(vec4f(xa.w), db, a31);
    a40 = fma(vec4f(xb.x), da, a40);
    a41 = fma(vec4f(xb.x), db, a41);
    a50 = fma(vec4f(xb.y), da, a50);
    a51 = fma(vec4f(xb.y), db, a51);
    a60 = fma(vec4f(xb.z), da, a60);
    a61 = fma(vec4f(xb.z), db, a61);
    a70 = fma(vec4f(xb.w), da, a70);
    a71 = fma(vec4f(xb.w), db, a71);
  }

  // Channel rows of the second group exist only when g0 + 1 < Ci/4, and
  // columns of the second group only when o0 + 1 < Co/4.
  let base = (s * p.CI + g0 * 4u) * co4 + o0;
  let hasO1 = o0 + 1u < co4;
  part4[base] = a00;
  if (hasO1) { part4[base + 1u] = a01; }
  part4[base + 1u * co4] = a10;
  if (hasO1) { part4[base + 1u * co4 + 1u] = a11; }
  part4[base + 2u * co4] = a20;
  if (hasO1) { part4[base + 2u * co4 + 1u] = a21; }
  part4[base + 3u * co4] = a30;
  if (hasO1) { part4[base + 3u * co4 + 1u] = a31; }
  if (g0 + 1u < ci4) {
    part4[base + 4u * co4] = a40;
    if (hasO1) { part4[base + 4u * co4 + 1u] = a41; }
    part4[base + 5u * co4] = a50;
    if (hasO1) { part4[base + 5u * co4 + 1u] = a51; }
    part4[base + 6u * co4] = a60;
    if (hasO1) { part4[base + 6u * co4 + 1u] = a61; }
    part4[base + 7u * co4] = a70;
    if (hasO1) { part4[base + 7u * co4 + 1u] = a71; }
  }
}

// ---- reduce: sums the slices of `split` in slice order ----
// One invocation owns one vec4 of dw.

@group(0) @binding(0) var<storage, read> partIn: array<vec4f>;      // [SLICES, Ci, Co/4]
@group(0) @binding(1) var<storage, read_write> dw4: array<vec4f>;   // [Ci, Co/4]
@group(0) @binding(2) var<uniform> q: Params;

@compute @workgroup_size(WG)
fn reduce(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
          @builtin(local_invocation_index) lid: u32) {
  let n = q.CI * q.CO / 4u;
  let e = (wid.x + wid.y * nwg.x) * WG + lid;
  if (e >= n) { return; }
  var acc = vec4f(0.0);
  for (var s = 0u; s < q.SLICES; s++) {
    acc += partIn[s * n + e];
  }
  if (q.ACCUMULATE != 0u) { acc += dw4[e]; }
  dw4[e] = acc;
}
