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
  CV: u32,          // channel vectors per pixel
  OH: u32,
  OW: u32,
  groups: u32,      // tiled: partial sums G, each over `rowsPerGroup` rows of dy
  rowsPerGroup: u32,
  accumulate: u32,  // naive: 1 adds into dw, 0 overwrites it
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
override TILE_W: u32;   // dy columns per step (tiled), at most MAX_TILE_W

const MAX_TILE_W = 8u;
const MAX_SLOTS = 24u;  // x columns one step reads: (TILE_W - 1) * S + K
const MAX_K = 7u;

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

// One invocation owns kernel row kh of one channel vector within one group
// of `rowsPerGroup` consecutive dy rows (over n and oh), and writes the K
// partial sums of that row. It walks each dy row TILE_W columns at a time,
// holding those dy values and the (TILE_W - 1) * S + K x columns they meet in
// registers, so each load feeds up to K (x) or TILE_W (dy) products.
@compute @workgroup_size(WG)
fn tiled(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let i = linearId(wid, nwg, lid);
  let cv = i % p.CV;
  let kh = (i / p.CV) % K;
  let g = i / (p.CV * K);
  if (g >= p.groups) { return; }

  let P = i32((K - 1u) / 2u);
  let rowEnd = min((g + 1u) * p.rowsPerGroup, p.N * p.OH);
  var acc: array<V, MAX_K>;
  for (var row = g * p.rowsPerGroup; row < rowEnd; row++) {
    let n = row / p.OH;
    let ih = i32((row % p.OH) * S + kh) - P;
    if (ih < 0 || ih >= i32(p.H)) { continue; }
    let xBase = (n * p.H + u32(ih)) * p.W;
    for (var ow0 = 0u; ow0 < p.OW; ow0 += TILE_W) {
      // Columns past the edge of x or dy read a clamped address and count zero.
      var ds: array<V, MAX_TILE_W>;
      for (var j = 0u; j < TILE_W; j++) {
        let at = row * p.OW + min(ow0 + j, p.OW - 1u);
        ds[j] = select(V(0.0), dy[at * p.CV + cv], ow0 + j < p.OW);
      }
      let col0 = i32(ow0 * S) - P;
      var xs: array<V, MAX_SLOTS>;
      for (var r = 0u; r < (TILE_W - 1u) * S + K; r++) {
        let iw = col0 + i32(r);
        let at = xBase + u32(clamp(iw, 0, i32(p.W) - 1));
        xs[r] = select(V(0.0), x[at * p.CV + cv], iw >= 0 && iw < i32(p.W));
      }
      for (var kw = 0u; kw < K; kw++) {
        for (var j = 0u; j < TILE_W; j++) {
          acc[kw] = fma(xs[j * S + kw], ds[j], acc[kw]);
        }
      }
    }
  }

  let base = ((g * K + kh) * K) * p.CV + cv;
  for (var kw = 0u; kw < K; kw++) {
    out[base + kw * p.CV] = acc[kw];
  }
}
