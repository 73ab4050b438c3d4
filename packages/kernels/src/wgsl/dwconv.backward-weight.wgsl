// Depthwise convolution, gradient of the weights:
// dw[kh, kw, c] = sum over (n, oh, ow) of x[n, oh*S - P + kh, ow*S - P + kw, c] * dy[n, oh, ow, c].
// {{VEC}} is vec4f when C % 4 == 0 (CV = C / 4), else f32 (CV = C). The
// linear workgroup index is wid.x + wid.y * nwg.x. No workgroup memory and
// no atomics: sums run in a fixed order, so results are deterministic.

alias V = {{VEC}};

struct Params {
  N: u32,
  H: u32,
  W: u32,
  CV: u32,              // channel vectors per pixel
  OH: u32,
  OW: u32,
  groups: u32,          // tiled: G partial sums
  blocksPerGroup: u32,  // tiled: blocks of TILE_H dy rows per partial sum
  accumulate: u32,      // naive: 1 adds into dw, 0 overwrites it
}

@group(0) @binding(0) var<storage, read> x: array<V>;          // [N, H, W, C]
@group(0) @binding(1) var<storage, read> dy: array<V>;         // [N, OH, OW, C]
// naive: dw [K, K, C]; tiled: partial sums [G, K, K, C], reduced by
// dwconv.backward-weight-reduce.wgsl.
@group(0) @binding(2) var<storage, read_write> out: array<V>;
@group(0) @binding(3) var<uniform> p: Params;

override K: u32;        // kernel size (3, 5 or 7)
override S: u32;        // stride (1 or 2)
override WG: u32;       // invocations per workgroup
override TILE_H: u32;   // dy rows per block (tiled)
override TILE_W: u32;   // dy columns per step (tiled)

const MAX_TILE = 32u;   // TILE_H * TILE_W at most
const MAX_SLOTS = 24u;  // x columns one step reads: (TILE_W - 1) * S + K
const MAX_TAPS = 49u;   // K * K at most

fn linearId(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + lid;
}

// One invocation owns one element of dw and sums over every output pixel.
@compute @workgroup_size(WG)
fn naive(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let i = linearId(wid, nwg, lid);
  if (i >= K * K * p.CV) { return; }
  let cv = i % p.CV;
  let kw = (i / p.CV) % K;
  let kh = i / (p.CV * K);
  let P = i32((K - 1u) / 2u);
  var acc = V(0.0);
  for (var n = 0u; n < p.N; n++) {
    for (var oh = 0u; oh < p.OH; oh++) {
      let ih = i32(oh * S + kh) - P;
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      for (var ow = 0u; ow < p.OW; ow++) {
        let iw = i32(ow * S + kw) - P;
        if (iw < 0 || iw >= i32(p.W)) { continue; }
        let xi = ((n * p.H + u32(ih)) * p.W + u32(iw)) * p.CV + cv;
        acc += x[xi] * dy[((n * p.OH + oh) * p.OW + ow) * p.CV + cv];
      }
    }
  }
  out[i] = select(acc, out[i] + acc, p.accumulate != 0u);
}

// One invocation owns all K x K taps of one channel vector within one group
// of `blocksPerGroup` consecutive blocks of TILE_H dy rows (over n and oh),
// and writes those K * K partial sums. It walks each block TILE_W columns at
// a time: the TILE_H x TILE_W dy values stay in registers, and each of the
// (TILE_H - 1) * S + K x rows they meet is loaded once ((TILE_W - 1) * S + K
// columns) and feeds every (dy row, kernel row) pair that pairs them. Edges
// read a clamped address and count zero. No workgroup memory.
@compute @workgroup_size(WG)
fn tiled(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let i = linearId(wid, nwg, lid);
  let cv = i % p.CV;
  let g = i / p.CV;
  if (g >= p.groups) { return; }

  let P = i32((K - 1u) / 2u);
  let tilesH = (p.OH + TILE_H - 1u) / TILE_H;
  let blockEnd = min((g + 1u) * p.blocksPerGroup, p.N * tilesH);
  var acc: array<V, MAX_TAPS>;
  for (var b = g * p.blocksPerGroup; b < blockEnd; b++) {
    let n = b / tilesH;
    let oh0 = b % tilesH * TILE_H;
    for (var ow0 = 0u; ow0 < p.OW; ow0 += TILE_W) {
      var ds: array<V, MAX_TILE>;
      for (var q = 0u; q < TILE_H; q++) {
        let ohc = min(oh0 + q, p.OH - 1u);
        for (var j = 0u; j < TILE_W; j++) {
          let at = ((n * p.OH + ohc) * p.OW + min(ow0 + j, p.OW - 1u)) * p.CV + cv;
          ds[q * TILE_W + j] = select(V(0.0), dy[at], oh0 + q < p.OH && ow0 + j < p.OW);
        }
      }
      accumulateBlock(&acc, &ds, n, i32(oh0 * S) - P, i32(ow0 * S) - P, cv);
    }
  }

  let base = g * K * K * p.CV + cv;
  for (var k = 0u; k < K * K; k++) {
    out[base + k * p.CV] = acc[k];
  }
}

// Adds one block's products to acc: x row r of the block pairs with dy row
// q through kernel row r - q * S.
fn accumulateBlock(acc: ptr<function, array<V, MAX_TAPS>>, ds: ptr<function, array<V, MAX_TILE>>,
                   n: u32, row0: i32, col0: i32, cv: u32) {
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
    for (var q = 0u; q < TILE_H; q++) {
      let kh = r - q * S;
      if (r < q * S || kh >= K) { continue; }
      for (var kw = 0u; kw < K; kw++) {
        var sum = (*acc)[kh * K + kw];
        for (var j = 0u; j < TILE_W; j++) {
          sum = fma(xs[j * S + kw], (*ds)[q * TILE_W + j], sum);
        }
        (*acc)[kh * K + kw] = sum;
      }
    }
  }
}
