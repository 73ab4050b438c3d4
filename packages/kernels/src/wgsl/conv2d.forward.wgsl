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
// One invocation owns one output pixel and four output channels (one vec4
// group). x is read as scalars (the stem has 1 or 3 input channels), w and
// y as vec4. Neighbouring invocations take neighbouring channel groups of
// one pixel, so they share x loads and read adjacent w.

@group(0) @binding(1) var<storage, read> w4: array<vec4f>;        // [K, K, Ci, Co/4]
@group(0) @binding(2) var<storage, read_write> y4: array<vec4f>;  // [N, OH, OW, Co/4]

@compute @workgroup_size(WG)
fn vec4Out(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let co4 = p.CO / 4u;
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.N * p.OH * p.OW * co4) { return; }
  let cg = i % co4;
  let pix = i / co4;
  let ow = pix % p.OW;
  let oh = (pix / p.OW) % p.OH;
  let n = pix / (p.OW * p.OH);
  let pad = (K - 1u) / 2u;
  var acc = vec4f(0.0);
  for (var kh = 0u; kh < K; kh++) {
    let ih = i32(oh * S + kh) - i32(pad);
    if (ih < 0 || ih >= i32(p.H)) { continue; }
    for (var kw = 0u; kw < K; kw++) {
      let iw = i32(ow * S + kw) - i32(pad);
      if (iw < 0 || iw >= i32(p.W)) { continue; }
      let xb = ((n * p.H + u32(ih)) * p.W + u32(iw)) * p.CI;
      let wb = (kh * K + kw) * p.CI * co4 + cg;
      for (var ci = 0u; ci < p.CI; ci++) {
        acc += x[xb + ci] * w4[wb + ci * co4];
      }
    }
  }
  y4[i] = acc;
}
