// Depthwise convolution, forward, with same padding P = (K - 1) / 2.
// {{VEC}} is vec4f when C % 4 == 0 (CV = C / 4 vectors per pixel), else f32
// (CV = C). The grid may be folded into x,y, so the linear workgroup index
// is wid.x + wid.y * nwg.x. No workgroup memory and no barriers.

alias V = {{VEC}};

struct Params {
  N: u32,
  H: u32,
  W: u32,
  CV: u32,   // channel vectors per pixel
  OH: u32,
  OW: u32,
}

@group(0) @binding(0) var<storage, read> x: array<V>;        // [N, H, W, C]
@group(0) @binding(1) var<storage, read> w: array<V>;        // [K, K, C]
@group(0) @binding(2) var<storage, read_write> y: array<V>;  // [N, OH, OW, C]
@group(0) @binding(3) var<uniform> p: Params;

override K: u32;        // kernel size (3, 5 or 7)
override S: u32;        // stride (1 or 2)
override WG: u32;       // invocations per workgroup
override TILE_H: u32;   // output rows per invocation (tiled)
override TILE_W: u32;   // output columns per invocation (tiled)

const MAX_TILE = 32u;   // TILE_H * TILE_W at most
const MAX_SLOTS = 24u;  // input columns of one block row: (TILE_W - 1) * S + K

fn linearId(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + lid;
}

// One invocation writes one output element (one channel vector of one
// pixel), reading its K x K window straight from memory.
@compute @workgroup_size(WG)
fn naive(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let i = linearId(wid, nwg, lid);
  if (i >= p.N * p.OH * p.OW * p.CV) { return; }
  let cv = i % p.CV;
  let pix = i / p.CV;
  let ow = pix % p.OW;
  let oh = (pix / p.OW) % p.OH;
  let n = pix / (p.OW * p.OH);
  let P = i32((K - 1u) / 2u);
  var acc = V(0.0);
  for (var kh = 0u; kh < K; kh++) {
    let ih = i32(oh * S + kh) - P;
    for (var kw = 0u; kw < K; kw++) {
      let iw = i32(ow * S + kw) - P;
      if (ih >= 0 && ih < i32(p.H) && iw >= 0 && iw < i32(p.W)) {
        let xi = ((n * p.H + u32(ih)) * p.W + u32(iw)) * p.CV + cv;
        acc += x[xi] * w[(kh * K + kw) * p.CV + cv];
      }
    }
  }
  y[i] = acc;
}

// One invocation writes a TILE_H x TILE_W block of output pixels for one
// channel vector; neighbouring invocations take neighbouring channel
// vectors, so their loads touch neighbouring addresses. Each of the
// (TILE_H - 1) * S + K input rows the block covers is loaded once
// ((TILE_W - 1) * S + K columns, into registers) and feeds every output row
// whose window contains it. Edges read a clamped address and count zero, so
// there are no divergent branches. No workgroup memory.
@compute @workgroup_size(WG)
fn tiled(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let i = linearId(wid, nwg, lid);
  let cv = i % p.CV;
  let tilesW = (p.OW + TILE_W - 1u) / TILE_W;
  let tilesH = (p.OH + TILE_H - 1u) / TILE_H;
  let t = i / p.CV;
  let ow0 = t % tilesW * TILE_W;
  let oh0 = (t / tilesW) % tilesH * TILE_H;
  let n = t / (tilesW * tilesH);
  if (n >= p.N) { return; }

  let P = i32((K - 1u) / 2u);
  let row0 = i32(oh0 * S) - P;  // input row of block row 0
  let col0 = i32(ow0 * S) - P;  // input column of slot 0
  var acc: array<V, MAX_TILE>;
  for (var r = 0u; r < (TILE_H - 1u) * S + K; r++) {
    let ih = row0 + i32(r);
    let rowOk = ih >= 0 && ih < i32(p.H);
    let rowBase = (n * p.H + u32(clamp(ih, 0, i32(p.H) - 1))) * p.W;
    var xs: array<V, MAX_SLOTS>;
    for (var c = 0u; c < (TILE_W - 1u) * S + K; c++) {
      let iw = col0 + i32(c);
      let at = (rowBase + u32(clamp(iw, 0, i32(p.W) - 1))) * p.CV + cv;
      xs[c] = select(V(0.0), x[at], rowOk && iw >= 0 && iw < i32(p.W));
    }

    // Output row q of the block meets this input row at kernel row r - q * S.
    for (var q = 0u; q < TILE_H; q++) {
      let kh = r - q * S;
      if (r < q * S || kh >= K) { continue; }
      for (var kw = 0u; kw < K; kw++) {
        let wv = w[(kh * K + kw) * p.CV + cv];
        for (var j = 0u; j < TILE_W; j++) {
          acc[q * TILE_W + j] = fma(xs[j * S + kw], wv, acc[q * TILE_W + j]);
        }
      }
    }
  }

  for (var q = 0u; q < TILE_H; q++) {
    let yRow = (n * p.OH + oh0 + q) * p.OW;
    for (var j = 0u; j < TILE_W; j++) {
      if (oh0 + q < p.OH && ow0 + j < p.OW) {
        y[(yRow + ow0 + j) * p.CV + cv] = acc[q * TILE_W + j];
      }
    }
  }
}
