// Batch norm backward, training mode. x is viewed as [M, C] and read as
// {{T}} (LANES channels per element). With RELU6 the upstream gradient is
// masked by 0 < z < 6, z = (x - mean) * gamma * invStd + beta recomputed
// from x, so the forward output need not be kept.

struct Params {
  rows: u32,        // M
  cols: u32,        // C / LANES
  chunkRows: u32,   // rows per chunk (partial pass)
  chunks: u32,
}

override WG: u32;      // invocations per workgroup
{{SPREAD}}
override RELU6: bool;  // the forward fused clamp(., 0, 6)

fn masked(dyv: {{T}}, z: {{T}}) -> {{T}} {
  if (RELU6) {
    return select({{T}}(0.0), dyv, (z > {{T}}(0.0)) & (z < {{T}}(6.0)));
  }
  return dyv;
}

// ---- pass 1: chunk sums of g and g * xhat ----

@group(0) @binding(0) var<storage, read> x: array<{{T}}>;             // [M, C]
@group(0) @binding(1) var<storage, read> dy: array<{{T}}>;            // [M, C]
@group(0) @binding(2) var<storage, read> gamma: array<{{T}}>;         // [C]
@group(0) @binding(3) var<storage, read> beta: array<{{T}}>;          // [C]
@group(0) @binding(4) var<storage, read> mean: array<{{T}}>;          // [C] saved
@group(0) @binding(5) var<storage, read> invStd: array<{{T}}>;        // [C] saved
@group(0) @binding(6) var<storage, read_write> part: array<{{T}}>;    // [2, chunks, C]
@group(0) @binding(7) var<uniform> p: Params;

// One invocation owns one column of one chunk of rows (the naive variant
// uses a single chunk); neighbouring invocations own neighbouring columns.
// Writes part[0, chunk, :] = sum g and part[1, chunk, :] = sum g * xhat.
// No workgroup memory, no barriers.
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
  let m = mean[c];
  let inv = invStd[c];
  let a = gamma[c] * inv;
  let b = beta[c];

  var sg = {{T}}(0.0);
  var sgx = {{T}}(0.0);
  for (var r = r0; r < r1; r++) {
    let i = r * p.cols + c;
    let d = x[i] - m;
    let gv = masked(dy[i], fma(d, a, b));
    sg += gv;
    sgx = fma(gv, d * inv, sgx);
  }
  let o = g - g % p.cols + c;   // [chunk, c]
  part[o] = sg;
  part[p.cols * p.chunks + o] = sgx;
}

// ---- pass 2: dx = a * g + u * (x - mean) + w ----

@group(0) @binding(0) var<storage, read> ax: array<{{T}}>;            // [M, C]
@group(0) @binding(1) var<storage, read> ady: array<{{T}}>;           // [M, C]
@group(0) @binding(2) var<storage, read> coef: array<{{T}}>;          // [5, C]: mean, a, beta, u, w
@group(0) @binding(3) var<storage, read_write> dx: array<{{T}}>;      // [M, C]
@group(0) @binding(4) var<uniform> ap: Params;

override ROWS: u32;    // rows per invocation in this pass

// One invocation owns one column for ROWS consecutive rows, coefficients
// held in registers. No workgroup memory, no barriers.
@compute @workgroup_size(WG)
fn apply(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * WG + lid;
  let c = spreadColumn(g % ap.cols, ap.cols);
  let r0 = (g / ap.cols) * ROWS;
  if (r0 >= ap.rows) {
    return;
  }
  let m = coef[c];
  let a = coef[ap.cols + c];
  let b = coef[2u * ap.cols + c];
  let u = coef[3u * ap.cols + c];
  let w = coef[4u * ap.cols + c];
  let r1 = min(r0 + ROWS, ap.rows);
  for (var r = r0; r < r1; r++) {
    let i = r * ap.cols + c;
    let d = ax[i] - m;
    let gv = masked(ady[i], fma(d, a, b));
    dx[i] = fma(a, gv, fma(u, d, w));
  }
}
