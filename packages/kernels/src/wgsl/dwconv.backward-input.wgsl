// Depthwise convolution, gradient of the input (gather form): each input
// pixel sums dy over the output pixels whose window covers it,
// dx[n, ih, iw] = sum over (kh, kw) with oh = (ih + P - kh) / S and
// ow = (iw + P - kw) / S whole and in range of dy[n, oh, ow] * w[kh, kw].
// {{VEC}} is vec4f when C % 4 == 0 (CV = C / 4), else f32 (CV = C). The
// linear workgroup index is wid.x + wid.y * nwg.x. No workgroup memory.

alias V = {{VEC}};

struct Params {
  N: u32,
  H: u32,
  W: u32,
  CV: u32,   // channel vectors per pixel
  OH: u32,
  OW: u32,
}

@group(0) @binding(0) var<storage, read> dy: array<V>;        // [N, OH, OW, C]
@group(0) @binding(1) var<storage, read> w: array<V>;         // [K, K, C]
@group(0) @binding(2) var<storage, read_write> dx: array<V>;  // [N, H, W, C]
@group(0) @binding(3) var<uniform> p: Params;

override K: u32;        // kernel size (3, 5 or 7)
override S: u32;        // stride (1 or 2)
override WG: u32;       // invocations per workgroup
override TILE_H: u32;   // dx rows per invocation (tiled): a multiple of S
override TILE_W: u32;   // dx columns per invocation (tiled): a multiple of S

const MAX_TILE = 32u;   // TILE_H * TILE_W at most
const MAX_SLOTS = 16u;  // dy columns one block row can touch

fn linearId(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + lid;
}

// One invocation writes one element of dx, visiting all K x K taps.
@compute @workgroup_size(WG)
fn naive(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let i = linearId(wid, nwg, lid);
  if (i >= p.N * p.H * p.W * p.CV) { return; }
  let cv = i % p.CV;
  let pix = i / p.CV;
  let iw = pix % p.W;
  let ih = (pix / p.W) % p.H;
  let n = pix / (p.W * p.H);
  let P = (K - 1u) / 2u;
  var acc = V(0.0);
  for (var kh = 0u; kh < K; kh++) {
    for (var kw = 0u; kw < K; kw++) {
      // ih + P - kh and iw + P - kw must be non-negative multiples of S.
      let dh = i32(ih + P) - i32(kh);
      let dc = i32(iw + P) - i32(kw);
      if (dh < 0 || dc < 0 || u32(dh) % S != 0u || u32(dc) % S != 0u) { continue; }
      let oh = u32(dh) / S;
      let ow = u32(dc) / S;
      if (oh < p.OH && ow < p.OW) {
        acc += dy[((n * p.OH + oh) * p.OW + ow) * p.CV + cv] * w[(kh * K + kw) * p.CV + cv];
      }
    }
  }
  dx[i] = acc;
}

// One invocation writes a TILE_H x TILE_W block of dx (rows ih0 + q,
// columns iw0 + j, ih0 and iw0 multiples of S) for one channel vector;
// neighbouring invocations take neighbouring channel vectors. Along columns,
// iw0 + j + P - kw = S * (iw0 / S - Q) + e with Q = ceil(P / S) makes
// e = j + P + S * Q - kw non-negative; the tap is live when e % S == 0 and
// reads dy column iw0 / S - Q + e / S. Rows work the same way. Both depend
// only on constants and loop counters, so after unrolling the selection
// costs nothing. Each dy row the block touches is loaded into registers
// once and feeds every dx row it reaches. Edges read a clamped address and
// count zero. No workgroup memory.
@compute @workgroup_size(WG)
fn tiled(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let i = linearId(wid, nwg, lid);
  let cv = i % p.CV;
  let tilesW = (p.W + TILE_W - 1u) / TILE_W;
  let tilesH = (p.H + TILE_H - 1u) / TILE_H;
  let t = i / p.CV;
  let iw0 = t % tilesW * TILE_W;
  let ih0 = (t / tilesW) % tilesH * TILE_H;
  let n = t / (tilesW * tilesH);
  if (n >= p.N) { return; }

  let P = (K - 1u) / 2u;
  let Q = (P + S - 1u) / S;
  let row0 = i32(ih0 / S) - i32(Q);  // dy row of row slot 0
  let col0 = i32(iw0 / S) - i32(Q);  // dy column of column slot 0
  var acc: array<V, MAX_TILE>;
  for (var rr = 0u; rr < (TILE_H - 1u + P + S * Q) / S + 1u; rr++) {
    let oh = row0 + i32(rr);
    let rowOk = oh >= 0 && oh < i32(p.OH);
    let rowBase = (n * p.OH + u32(clamp(oh, 0, i32(p.OH) - 1))) * p.OW;
    var ds: array<V, MAX_SLOTS>;
    for (var c = 0u; c < (TILE_W - 1u + P + S * Q) / S + 1u; c++) {
      let ow = col0 + i32(c);
      let at = (rowBase + u32(clamp(ow, 0, i32(p.OW) - 1))) * p.CV + cv;
      ds[c] = select(V(0.0), dy[at], rowOk && ow >= 0 && ow < i32(p.OW));
    }

    // dx row q meets this dy row through kernel row q + P + S * Q - rr * S.
    for (var q = 0u; q < TILE_H; q++) {
      let kh = i32(q + P + S * Q) - i32(rr * S);
      if (kh < 0 || kh >= i32(K)) { continue; }
      for (var kw = 0u; kw < K; kw++) {
        let wv = w[(u32(kh) * K + kw) * p.CV + cv];
        for (var j = 0u; j < TILE_W; j++) {
          let e = j + P + S * Q - kw;
          if (e % S == 0u) {
            acc[q * TILE_W + j] = fma(ds[e / S], wv, acc[q * TILE_W + j]);
          }
        }
      }
    }
  }

  for (var q = 0u; q < TILE_H; q++) {
    let xRow = (n * p.H + ih0 + q) * p.W;
    for (var j = 0u; j < TILE_W; j++) {
      if (ih0 + q < p.H && iw0 + j < p.W) {
        dx[(xRow + iw0 + j) * p.CV + cv] = acc[q * TILE_W + j];
      }
    }
  }
}
