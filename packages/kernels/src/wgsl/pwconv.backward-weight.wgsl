// Pointwise (1x1) convolution, gradient of the weight:
// dw[Ci, Co] (+)= x[M, Ci]^T * dy[M, Co], a reduction over the M rows.
// No float atomics: the split variant writes one partial sum per slice of
// rows and `reduce` adds the slices in a fixed order, so results are
// bit-for-bit repeatable. No workgroup memory, no barriers. The linear
// workgroup index is wid.x + wid.y * nwg.x (the grid may be folded).

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
@group(0) @binding(3) var<uniform> p: Params;

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
// One invocation owns a 4 x 4 block of one slice's partial sum: the four
// input channels of group cg4 and the four output channels of group co4i,
// over rows [s * ROWS, (s + 1) * ROWS). Each row loads one vec4 of x and one
// of dy and does four vec4 FMAs. Neighbouring invocations take neighbouring
// output-channel groups, so their dy loads are adjacent.

@group(0) @binding(0) var<storage, read> x4: array<vec4f>;          // [M, Ci/4]
@group(0) @binding(1) var<storage, read> dy4: array<vec4f>;         // [M, Co/4]
@group(0) @binding(2) var<storage, read_write> part4: array<vec4f>; // [SLICES, Ci, Co/4]

@compute @workgroup_size(WG)
fn split(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let ci4 = p.CI / 4u;
  let co4 = p.CO / 4u;
  let tiles = ci4 * co4;
  let t = (wid.x + wid.y * nwg.x) * WG + lid;
  if (t >= tiles * p.SLICES) { return; }
  let s = t / tiles;
  let cg = (t % tiles) / co4;
  let og = t % co4;

  let mEnd = min(p.M, (s + 1u) * p.ROWS);
  var a0 = vec4f(0.0);
  var a1 = vec4f(0.0);
  var a2 = vec4f(0.0);
  var a3 = vec4f(0.0);
  for (var m = s * p.ROWS; m < mEnd; m++) {
    let xv = x4[m * ci4 + cg];
    let d = dy4[m * co4 + og];
    a0 += xv.x * d;
    a1 += xv.y * d;
    a2 += xv.z * d;
    a3 += xv.w * d;
  }

  let base = (s * p.CI + cg * 4u) * co4 + og;
  part4[base] = a0;
  part4[base + co4] = a1;
  part4[base + 2u * co4] = a2;
  part4[base + 3u * co4] = a3;
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
