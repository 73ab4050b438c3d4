// Softmax cross-entropy with label smoothing, forward and gradient in one
// pass. Targets: t_k = (1 - eps) [k == label] + eps / K. Everything is
// computed relative to the row maximum m, so logits like [1000, 0] give a
// finite loss: loss = (sum_k t_k) log(sum exp(z - m)) - sum_k t_k (z_k - m).

struct Params {
  N: u32,
  K: u32,
  smoothing: f32,   // eps
}

@group(0) @binding(0) var<storage, read> logits: array<f32>;          // [N, K]
@group(0) @binding(1) var<storage, read> labels: array<f32>;          // [N] class ids
@group(0) @binding(2) var<storage, read_write> rowOut: array<f32>;    // [N, 2]: loss, correct
@group(0) @binding(3) var<storage, read_write> dlogits: array<f32>;   // [N, K] or a dummy
@group(0) @binding(4) var<uniform> p: Params;

override WG: u32;           // invocations per workgroup
override WRITE_GRAD: bool;  // write dlogits = (softmax - t) / N

// One invocation owns one row: three sweeps over its K logits (max and
// arg-max, sum of exponentials, gradient). No workgroup memory, no barriers.
// Ties for the arg-max go to the lowest index (strict comparison).
@compute @workgroup_size(WG)
fn rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let n = (wid.x + wid.y * nwg.x) * WG + lid;
  if (n >= p.N) {
    return;
  }
  let base = n * p.K;
  var m = logits[base];
  var arg = 0u;
  for (var k = 1u; k < p.K; k++) {
    let v = logits[base + k];
    if (v > m) {
      m = v;
      arg = k;
    }
  }

  var s = 0.0;
  var shifted = 0.0;   // sum_k (z_k - m)
  for (var k = 0u; k < p.K; k++) {
    let e = logits[base + k] - m;
    s += exp(e);
    shifted += e;
  }
  // A label outside [0, K) becomes K: no target mass on any logit, never a hit.
  let lf = labels[n];
  let label = select(p.K, u32(lf), lf >= 0.0 && lf < f32(p.K));
  let onLabel = select(0.0, logits[base + min(label, p.K - 1u)] - m, label < p.K);
  let spread = p.smoothing / f32(p.K);
  let mass = select(p.smoothing, 1.0, label < p.K);   // sum_k t_k
  rowOut[2u * n] = mass * log(s) - (1.0 - p.smoothing) * onLabel - spread * shifted;
  rowOut[2u * n + 1u] = select(0.0, 1.0, arg == label);

  if (WRITE_GRAD) {
    let invS = 1.0 / s;
    let invN = 1.0 / f32(p.N);
    for (var k = 0u; k < p.K; k++) {
      let i = base + k;
      let t = spread + select(0.0, 1.0 - p.smoothing, k == label);
      if (i < arrayLength(&dlogits)) {
        dlogits[i] = (exp(logits[i] - m) * invS - t) * invN;
      }
    }
  }
}

@group(0) @binding(0) var<storage, read> sumIn: array<f32>;           // [N, 2]: loss, correct
@group(0) @binding(1) var<storage, read_write> stats: array<f32>;     // [2]
@group(0) @binding(2) var<uniform> sp: Params;

// A single invocation adds the per-row losses and hits to stats in row
// order, so the totals are deterministic. No workgroup memory.
@compute @workgroup_size(1)
fn total() {
  var loss = 0.0;
  var correct = 0.0;
  var nonFinite = false;
  for (var n = 0u; n < sp.N; n++) {
    let l = sumIn[2u * n];
    // WGSL may assume floats are finite, so NaN and Inf are found by their
    // exponent bits (all ones), not by comparisons that could be folded away.
    nonFinite = nonFinite || (bitcast<u32>(l) & 0x7f800000u) == 0x7f800000u;
    loss += l;
    correct += sumIn[2u * n + 1u];
  }
  // A quiet NaN; built from a uniform so it is not a (rejected) constant NaN.
  let nan = bitcast<f32>(0x7fc00000u | (sp.N & 0u));
  stats[0] = select(stats[0] + loss, nan, nonFinite);
  stats[1] += correct;
}
