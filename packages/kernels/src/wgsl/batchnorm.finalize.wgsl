// Batch norm per-channel finishing passes. One invocation owns one channel;
// the chunk partials are merged in a fixed order, so results are
// deterministic. No workgroup memory, no barriers. Per-channel coefficient
// tables feed the element-wise passes in batchnorm.forward.wgsl and
// batchnorm.backward.wgsl.

struct Params {
  C: u32,
  chunks: u32,      // chunk partials to merge
  chunkRows: u32,   // rows per chunk (the last one may be shorter)
  rows: u32,        // M, rows reduced over
  momentum: f32,    // running = (1 - momentum) * running + momentum * batch
  eps: f32,
  flags: u32,       // bit 0: update running stats; bit 1: accumulate gradients
}

override WG: u32;   // invocations per workgroup

fn channelOf(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + lid;
}

// ---- forward statistics (part = [2, chunks, C]: chunk means, chunk M2) ----

@group(0) @binding(0) var<storage, read> part: array<f32>;                 // [2, chunks, C]
@group(0) @binding(1) var<storage, read> gamma: array<f32>;                // [C]
@group(0) @binding(2) var<storage, read> beta: array<f32>;                 // [C]
@group(0) @binding(3) var<storage, read_write> runMean: array<f32>;        // [C]
@group(0) @binding(4) var<storage, read_write> runVar: array<f32>;         // [C]
@group(0) @binding(5) var<storage, read_write> mean: array<f32>;           // [C]
@group(0) @binding(6) var<storage, read_write> invStd: array<f32>;         // [C]
@group(0) @binding(7) var<storage, read_write> coef: array<f32>;           // [3, C]
@group(0) @binding(8) var<uniform> p: Params;

// Chan's pairwise update, folding chunks in index order: (mean, M2).
fn mergeMoments(c: u32) -> vec2f {
  var n = 0.0;
  var m = 0.0;
  var m2 = 0.0;
  for (var i = 0u; i < p.chunks; i++) {
    let nb = f32(min(p.chunkRows, p.rows - i * p.chunkRows));
    let nt = n + nb;
    let delta = part[i * p.C + c] - m;
    m += delta * (nb / nt);
    m2 += part[(p.chunks + i) * p.C + c] + delta * delta * (n * nb / nt);
    n = nt;
  }
  return vec2f(m, m2);
}

// Training: batch mean and 1/sqrt(biased var + eps) for backward, the
// apply table coef = [mean; gamma * invStd; beta], and the running stats
// (PyTorch convention: the running variance takes the unbiased estimate).
@compute @workgroup_size(WG)
fn train(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let c = channelOf(wid, nwg, lid);
  if (c >= p.C) {
    return;
  }
  let mm = mergeMoments(c);
  let rows = f32(p.rows);
  let inv = inverseSqrt(mm.y / rows + p.eps);
  mean[c] = mm.x;
  invStd[c] = inv;
  coef[c] = mm.x;
  coef[p.C + c] = gamma[c] * inv;
  coef[2u * p.C + c] = beta[c];
  if ((p.flags & 1u) != 0u) {
    let k = p.momentum;
    runMean[c] = (1.0 - k) * runMean[c] + k * mm.x;
    runVar[c] = (1.0 - k) * runVar[c] + k * (mm.y / (rows - 1.0));
  }
}

// ---- statistics only, for recalibration (same partial layout) ----

@group(0) @binding(0) var<storage, read> sPart: array<f32>;                // [2, chunks, C]
@group(0) @binding(1) var<storage, read_write> sMean: array<f32>;          // [C]
@group(0) @binding(2) var<storage, read_write> sVar: array<f32>;           // [C] biased
@group(0) @binding(3) var<uniform> sp: Params;

@compute @workgroup_size(WG)
fn stats(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let c = channelOf(wid, nwg, lid);
  if (c >= sp.C) {
    return;
  }
  var n = 0.0;
  var m = 0.0;
  var m2 = 0.0;
  for (var i = 0u; i < sp.chunks; i++) {
    let nb = f32(min(sp.chunkRows, sp.rows - i * sp.chunkRows));
    let nt = n + nb;
    let delta = sPart[i * sp.C + c] - m;
    m += delta * (nb / nt);
    m2 += sPart[(sp.chunks + i) * sp.C + c] + delta * delta * (n * nb / nt);
    n = nt;
  }
  sMean[c] = m;
  sVar[c] = m2 / f32(sp.rows);
}

// ---- inference: apply table from the running stats ----

@group(0) @binding(0) var<storage, read> iGamma: array<f32>;               // [C]
@group(0) @binding(1) var<storage, read> iBeta: array<f32>;                // [C]
@group(0) @binding(2) var<storage, read> iMean: array<f32>;                // [C] running
@group(0) @binding(3) var<storage, read> iVar: array<f32>;                 // [C] running
@group(0) @binding(4) var<storage, read_write> iCoef: array<f32>;          // [3, C]
@group(0) @binding(5) var<uniform> ip: Params;

@compute @workgroup_size(WG)
fn infer(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let c = channelOf(wid, nwg, lid);
  if (c >= ip.C) {
    return;
  }
  iCoef[c] = iMean[c];
  iCoef[ip.C + c] = iGamma[c] * inverseSqrt(iVar[c] + ip.eps);
  iCoef[2u * ip.C + c] = iBeta[c];
}

// ---- backward (bPart = [2, chunks, C]: chunk sums of g and of g * xhat) ----

@group(0) @binding(0) var<storage, read> bPart: array<f32>;                // [2, chunks, C]
@group(0) @binding(1) var<storage, read> bGamma: array<f32>;               // [C]
@group(0) @binding(2) var<storage, read> bBeta: array<f32>;                // [C]
@group(0) @binding(3) var<storage, read> bMean: array<f32>;                // [C] saved
@group(0) @binding(4) var<storage, read> bInvStd: array<f32>;              // [C] saved
@group(0) @binding(5) var<storage, read_write> dgamma: array<f32>;         // [C]
@group(0) @binding(6) var<storage, read_write> dbeta: array<f32>;          // [C]
@group(0) @binding(7) var<storage, read_write> bCoef: array<f32>;          // [5, C]
@group(0) @binding(8) var<uniform> bp: Params;

// With g the (masked) upstream gradient and xhat = (x - mean) * invStd:
// dbeta = sum g, dgamma = sum g * xhat, and
// dx = a * g + u * (x - mean) + w, a = gamma * invStd,
// u = -a * invStd * dgamma / M, w = -a * dbeta / M.
// bCoef = [mean; a; beta; u; w] (mean, a, beta also rebuild the ReLU6 mask).
@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) lid: u32) {
  let c = channelOf(wid, nwg, lid);
  if (c >= bp.C) {
    return;
  }
  var sg = 0.0;
  var sgx = 0.0;
  for (var i = 0u; i < bp.chunks; i++) {
    sg += bPart[i * bp.C + c];
    sgx += bPart[(bp.chunks + i) * bp.C + c];
  }
  if ((bp.flags & 2u) != 0u) {
    dgamma[c] += sgx;
    dbeta[c] += sg;
  } else {
    dgamma[c] = sgx;
    dbeta[c] = sg;
  }
  let inv = bInvStd[c];
  let a = bGamma[c] * inv;
  let rows = f32(bp.rows);
  bCoef[c] = bMean[c];
  bCoef[bp.C + c] = a;
  bCoef[2u * bp.C + c] = bBeta[c];
  bCoef[3u * bp.C + c] = -a * inv * sgx / rows;
  bCoef[4u * bp.C + c] = -a * sg / rows;
}
