// Dense KxK convolution, gradient of the weight (same padding P = (K-1)/2):
// dw[kh, kw, ci, co] (+)= sum over the R = N*OH*OW output pixels of
//   x[n, oh*S + kh - P, ow*S + kw - P, ci] * dy[n, oh, ow, co].
// No float atomics: the split variant writes one partial sum per slice of
// output pixels, and the pointwise `reduce` kernel adds the slices in a
// fixed order. No workgroup memory, no barriers. The linear workgroup index
// is wid.x + wid.y * nwg.x (the grid may be folded).

struct Params {
  N: u32,
  H: u32,
  W: u32,
  CI: u32,
  CO: u32,
  OH: u32,
  OW: u32,
  ROWS: u32,         // output pixels per slice (split variant)
  SLICES: u32,       // number of slices (split variant)
  ACCUMULATE: u32,   // 1: dw += result, 0: dw = result (naive)
}

override WG: u32;   // invocations per workgroup
override K: u32;    // kernel size (1, 3, 5 or 7)
override S: u32;    // stride (1 or 2)

// The input element under tap (kh, kw) of output pixel (n, oh, ow), or 0 in
// the padding.
fn tapAt(n: u32, oh: u32, ow: u32, kh: u32, kw: u32, ci: u32) -> f32 {
  let pad = (K - 1u) / 2u;
  let ih = i32(oh * S + kh) - i32(pad);
  let iw = i32(ow * S + kw) - i32(pad);
  if (ih < 0 || ih >= i32(p.H) || iw < 0 || iw >= i32(p.W)) { return 0.0; }
  return x[((n * p.H + u32(ih)) * p.W + u32(iw)) * p.CI + ci];
}

// The same for output pixel r = (n * OH + oh) * OW + ow.
fn tap(r: u32, kh: u32, kw: u32, ci: u32) -> f32 {
  return tapAt(r / (p.OW * p.OH), (r / p.OW) % p.OH, r % p.OW, kh, kw, ci);
}

// ---- naive: any Ci, Co ----
// One invocation owns one element of dw and walks all output pixels.

@group(0) @binding(0) var<storage, read> x: array<f32>;         // [N, H, W, Ci]
@group(0) @binding(1) var<storage, read> dy: array<f32>;        // [N, OH, OW, Co]
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;  // [K, K, Ci, Co]
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn naive(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= K * K * p.CI * p.CO) { return; }
  let co = i % p.CO;
  let ci = (i / p.CO) % p.CI;
  let kw = (i / (p.CO * p.CI)) % K;
  let kh = i / (p.CO * p.CI * K);
  var acc = 0.0;
  for (var r = 0u; r < p.N * p.OH * p.OW; r++) {
    acc += tap(r, kh, kw, ci) * dy[r * p.CO + co];
  }
  if (p.ACCUMULATE != 0u) { acc += dw[i]; }
  dw[i] = acc;
}

// ---- split: Co % 4 == 0 ----
// One invocation owns four output channels (one vec4 group) of one
// (kh, kw, ci) row of one slice's partial sum, over output pixels
// [s * ROWS, (s + 1) * ROWS). Neighbouring invocations take neighbouring
// channel groups, so their dy loads are adjacent and their x loads coincide.

@group(0) @binding(1) var<storage, read> dy4: array<vec4f>;          // [N, OH, OW, Co/4]
@group(0) @binding(2) var<storage, read_write> part4: array<vec4f>;  // [SLICES, K, K, Ci, Co/4]

@compute @workgroup_size(WG)
fn split(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let co4 = p.CO / 4u;
  let tiles = K * K * p.CI * co4;
  let t = (wid.x + wid.y * nwg.x) * WG + lid;
  if (t >= tiles * p.SLICES) { return; }
  let s = t / tiles;
  let e = t % tiles;
  let cg = e % co4;
  let ci = (e / co4) % p.CI;
  let kw = (e / (co4 * p.CI)) % K;
  let kh = e / (co4 * p.CI * K);
  let r0 = s * p.ROWS;
  let rEnd = min(p.N * p.OH * p.OW, r0 + p.ROWS);

  // Walk the slice's pixels with running (n, oh, ow) instead of dividing per pixel.
  var ow = r0 % p.OW;
  var oh = (r0 / p.OW) % p.OH;
  var n = r0 / (p.OW * p.OH);
  var acc = vec4f(0.0);
  for (var r = r0; r < rEnd; r++) {
    acc = fma(vec4f(tapAt(n, oh, ow, kh, kw, ci)), dy4[r * co4 + cg], acc);
    ow += 1u;
    if (ow == p.OW) { ow = 0u; oh += 1u; }
    if (oh == p.OH) { oh = 0u; n += 1u; }
  }
  part4[t] = acc;
}
