// Batch norm statistics, pass 1 of 2: partial moments of chunks of rows.
// x is viewed as [M, C] (every leading dim folded into M = rows) and read
// as {{T}}, so one element of `cols` carries LANES channels. Partials are
// written as part[0, chunk, :] = chunk mean and part[1, chunk, :] = chunk M2
// (sum of squared deviations); batchnorm.finalize.wgsl merges them.
// No workgroup memory and no barriers: each invocation reduces on its own.

struct Params {
  rows: u32,        // M
  cols: u32,        // C / LANES
  chunkRows: u32,   // rows per chunk (the last chunk may be shorter)
  chunks: u32,      // ceil(rows / chunkRows)
}

@group(0) @binding(0) var<storage, read> x: array<{{T}}>;             // [M, C]
@group(0) @binding(1) var<storage, read_write> part: array<{{T}}>;    // [2, chunks, C]
@group(0) @binding(2) var<uniform> p: Params;

override WG: u32;   // invocations per workgroup
{{SPREAD}}

// One invocation owns one column (LANES channels) of one chunk; neighbouring
// invocations own neighbouring columns so row reads are contiguous. Moments
// are shifted sums about the chunk's first row, which keeps
// M2 = s2 - s1^2 / n free of the cancellation that sum(x^2) would suffer
// when |mean| >> std (the shift is one sample, within a few std of the mean).
@compute @workgroup_size(WG)
fn partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * WG + lid;
  if (g >= p.cols * p.chunks) {
    return;
  }
  let c = spreadColumn(g % p.cols, p.cols);
  let r0 = (g / p.cols) * p.chunkRows;
  let r1 = min(r0 + p.chunkRows, p.rows);
  let shift = x[r0 * p.cols + c];

  // Two independent accumulator pairs over alternating rows.
  var s1a = {{T}}(0.0);
  var s2a = {{T}}(0.0);
  var s1b = {{T}}(0.0);
  var s2b = {{T}}(0.0);
  var r = r0;
  for (; r + 1u < r1; r += 2u) {
    let da = x[r * p.cols + c] - shift;
    let db = x[(r + 1u) * p.cols + c] - shift;
    s1a += da;
    s2a = fma(da, da, s2a);
    s1b += db;
    s2b = fma(db, db, s2b);
  }
  if (r < r1) {
    let da = x[r * p.cols + c] - shift;
    s1a += da;
    s2a = fma(da, da, s2a);
  }

  let n = f32(r1 - r0);
  let s1 = s1a + s1b;
  let o = g - g % p.cols + c;   // [chunk, c]
  part[o] = shift + s1 / n;
  part[p.cols * p.chunks + o] = max(s2a + s2b - s1 * s1 / n, {{T}}(0.0));
}

// The naive variant: the host sets chunkRows = rows and chunks = 1, so one
// invocation owns one column over all rows and takes two plain passes
// (mean, then squared deviations from it).
@compute @workgroup_size(WG)
fn twoPass(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let c = (wid.x + wid.y * nwg.x) * WG + lid;
  if (c >= p.cols) {
    return;
  }
  var s = {{T}}(0.0);
  for (var r = 0u; r < p.rows; r++) {
    s += x[r * p.cols + c];
  }
  let mean = s / f32(p.rows);
  var m2 = {{T}}(0.0);
  for (var r = 0u; r < p.rows; r++) {
    let d = x[r * p.cols + c] - mean;
    m2 = fma(d, d, m2);
  }
  part[c] = mean;
  part[p.cols + c] = m2;
}
