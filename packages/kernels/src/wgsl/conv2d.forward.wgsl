// Dense KxK convolution (the stem), forward, same padding P = (K - 1) / 2:
// y[n, oh, ow, co] = sum over kh, kw, ci of
//   x[n, oh*S + kh - P, ow*S + kw - P, ci] * w[kh, kw, ci, co],
// taps outside the image reading as zero. No workgroup memory, no barriers.
// The linear workgroup index is wid.x + wid.y * nwg.x (the grid may be folded).

struct Params {
  N: u32,
  H: u32,
  W: u32,
  CI: u32,
  CO: u32,
  OH: u32,
  OW: u32,
}

override WG: u32;   // invocations per workgroup
override K: u32;    // kernel size (1, 3, 5 or 7)
override S: u32;    // stride (1 or 2)

// ---- naive: any Ci, Co ----
// One invocation owns one output element y[n, oh, ow, co].

@group(0) @binding(0) var<storage, read> x: array<f32>;        // [N, H, W, Ci]
@group(0) @binding(1) var<storage, read> w: array<f32>;        // [K, K, Ci, Co]
@group(0) @binding(2) var<storage, read_write> y: array<f32>;  // [N, OH, OW, Co]
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn naive(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.N * p.OH * p.OW * p.CO) { return; }
  let co = i % p.CO;
  let pix = i / p.CO;
  let ow = pix % p.OW;
  let oh = (pix / p.OW) % p.OH;
  let n = pix / (p.OW * p.OH);
  let pad = (K - 1u) / 2u;
  var acc = 0.0;
  for (var kh = 0u; kh < K; kh++) {
    let ih = i32(oh * S + kh) - i32(pad);
    if (ih < 0 || ih >= i32(p.H)) { continue; }
    for (var kw = 0u; kw < K; kw++) {
      let iw = i32(ow * S + kw) - i32(pad);
      if (iw < 0 || iw >= i32(p.W)) { continue; }
      let xb = ((n * p.H + u32(ih)) * p.W + u32(iw)) * p.CI;
      let wb = (kh * K + kw) * p.CI * p.CO + co;
      for (var ci = 0u; ci < p.CI; ci++) {
        acc += x[xb + ci] * w[wb + ci * p.CO];
      }
    }
  }
  y[i] = acc;
}

// ---- vec4: Co % 4 == 0 ----
// One invocation owns four neighbouring output pixels of one row
// (ow0 .. ow0+3) and four output channels (one vec4 group). Per tap and input
// channel it loads one vec4 of w, shared by the four pixels, and one x
// scalar per pixel (zero in the padding or past OW), then does four vec4
// FMAs. Neighbouring invocations take neighbouring channel groups of the
// same pixels, so they share x loads and read adjacent w.

@group(0) @binding(1) var<storage, read> w4: array<vec4f>;        // [K, K, Ci, Co/4]
@group(0) @binding(2) var<storage, read_write> y4: array<vec4f>;  // [N, OH, OW, Co/4]

// x[n, ih, iw, ci] where (ih, iw) lies inside the image and `live`, else 0.
fn xAt(rowBase: u32, iw: i32, ci: u32, live: bool) -> f32 {
  let inside = live && iw >= 0 && iw < i32(p.W);
  let v = x[rowBase + u32(clamp(iw, 0, i32(p.W) - 1)) * p.CI + ci];
  return select(0.0, v, inside);
}

@compute @workgroup_size(WG)
fn vec4Out(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let co4 = p.CO / 4u;
  let owBlocks = (p.OW + 3u) / 4u;
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.N * p.OH * owBlocks * co4) { return; }
  let cg = i % co4;
  let q = i / co4;
  let ow0 = (q % owBlocks) * 4u;
  let oh = (q / owBlocks) % p.OH;
  let n = q / (owBlocks * p.OH);
  let pad = i32((K - 1u) / 2u);
  var a0 = vec4f(0.0);
  var a1 = vec4f(0.0);
  var a2 = vec4f(0.0);
  var a3 = vec4f(0.0);
  for (var kh = 0u; kh < K; kh++) {
    let ih = i32(oh * S + kh) - pad;
    if (ih < 0 || ih >= i32(p.H)) { continue; }
    let rowBase = (n * p.H + u32(ih)) * p.W * p.CI;
    for (var kw = 0u; kw < K; kw++) {
      let iw0 = i32(ow0 * S + kw) - pad;
      let wb = (kh * K + kw) * p.CI * co4 + cg;
      for (var ci = 0u; ci < p.CI; ci++) {
        let wv = w4[wb + ci * co4];
        a0 = fma(vec4f(xAt(rowBase, iw0, ci, true)), wv, a0);
        a1 = fma(vec4f(xAt(rowBase, iw0 + i32(S), ci, ow0 + 1u < p.OW)), wv, a1);
        a2 = fma(vec4f(xAt(rowBase, iw0 + 2 * i32(S), ci, ow0 + 2u < p.OW)), wv, a2);
        a3 = fma(vec4f(xAt(rowBase, iw0 + 3 * i32(S), ci, ow0 + 3u < p.OW)), wv, a3);
      }
    }
  }

  let yb = ((n * p.OH + oh) * p.OW + ow0) * co4 + cg;
  y4[yb] = a0;
  if (ow0 + 1u < p.OW) { y4[yb + co4] = a1; }
  if (ow0 + 2u < p.OW) { y4[yb + 2u * co4] = a2; }
  if (ow0 + 3u < p.OW) { y4[yb + 3u * co4] = a3; }
}
