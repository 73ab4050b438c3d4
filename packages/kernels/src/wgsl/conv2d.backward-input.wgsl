// Dense KxK convolution, gradient of the input (same padding P = (K-1)/2):
// dx[n, ih, iw, ci] = sum over the (kh, kw) whose output position
// oh = (ih + P - kh) / S, ow = (iw + P - kw) / S is whole and inside the
// output, of sum over co of dy[n, oh, ow, co] * w[kh, kw, ci, co].
// One invocation owns one element of dx; no workgroup memory, no barriers.
// The network never needs this (the stem reads the image), so one plain
// variant serves. The linear workgroup index is wid.x + wid.y * nwg.x.

struct Params {
  N: u32,
  H: u32,
  W: u32,
  CI: u32,
  CO: u32,
  OH: u32,
  OW: u32,
}

@group(0) @binding(0) var<storage, read> dy: array<f32>;        // [N, OH, OW, Co]
@group(0) @binding(1) var<storage, read> w: array<f32>;         // [K, K, Ci, Co]
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;  // [N, H, W, Ci]
@group(0) @binding(3) var<uniform> p: Params;

override WG: u32;   // invocations per workgroup
override K: u32;    // kernel size (1, 3, 5 or 7)
override S: u32;    // stride (1 or 2)

@compute @workgroup_size(WG)
fn naive(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.N * p.H * p.W * p.CI) { return; }
  let ci = i % p.CI;
  let pix = i / p.CI;
  let iw = pix % p.W;
  let ih = (pix / p.W) % p.H;
  let n = pix / (p.W * p.H);
  let pad = (K - 1u) / 2u;
  var acc = 0.0;
  for (var kh = 0u; kh < K; kh++) {
    let th = i32(ih + pad) - i32(kh);   // oh * S when this tap is used
    if (th < 0 || th % i32(S) != 0 || th / i32(S) >= i32(p.OH)) { continue; }
    for (var kw = 0u; kw < K; kw++) {
      let tw = i32(iw + pad) - i32(kw);
      if (tw < 0 || tw % i32(S) != 0 || tw / i32(S) >= i32(p.OW)) { continue; }
      let db = ((n * p.OH + u32(th) / S) * p.OW + u32(tw) / S) * p.CO;
      let wb = ((kh * K + kw) * p.CI + ci) * p.CO;
      for (var co = 0u; co < p.CO; co++) {
        acc += dy[db + co] * w[wb + co];
      }
    }
  }
  dx[i] = acc;
}
