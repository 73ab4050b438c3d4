// Batch norm apply: y = (x - mean) * a + beta, a = gamma * invStd, then
// optionally ReLU6. x is viewed as [M, C] and read as {{T}} (LANES channels
// per element). The table coef = [mean; a; beta] comes from
// batchnorm.finalize.wgsl (train: batch stats; infer: running stats).

struct Params {
  rows: u32,   // M
  cols: u32,   // C / LANES
}

@group(0) @binding(0) var<storage, read> x: array<{{T}}>;            // [M, C]
@group(0) @binding(1) var<storage, read> coef: array<{{T}}>;         // [3, C]
@group(0) @binding(2) var<storage, read_write> y: array<{{T}}>;      // [M, C]
@group(0) @binding(3) var<uniform> p: Params;

override WG: u32;      // invocations per workgroup
{{SPREAD}}
override ROWS: u32;    // rows per invocation
override RELU6: bool;  // fuse clamp(., 0, 6)

// One invocation owns one column for ROWS consecutive rows, loading its
// three coefficients once; neighbouring invocations own neighbouring
// columns. No workgroup memory, no barriers.
@compute @workgroup_size(WG)
fn apply(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * WG + lid;
  let c = spreadColumn(g % p.cols, p.cols);
  let r0 = (g / p.cols) * ROWS;
  if (r0 >= p.rows) {
    return;
  }
  let m = coef[c];
  let a = coef[p.cols + c];
  let b = coef[2u * p.cols + c];
  let r1 = min(r0 + ROWS, p.rows);
  for (var r = r0; r < r1; r++) {
    let i = r * p.cols + c;
    var v = fma(x[i] - m, a, b);
    if (RELU6) {
      v = clamp(v, {{T}}(0.0), {{T}}(6.0));
    }
    y[i] = v;
  }
}

// applyAdd: the same, then adds a residual r (y = BN(x) + r, no ReLU6).
@group(0) @binding(2) var<storage, read> r: array<{{T}}>;              // [M, C]
@group(0) @binding(3) var<storage, read_write> yr: array<{{T}}>;       // [M, C]
@group(0) @binding(4) var<uniform> pr: Params;

@compute @workgroup_size(WG)
fn applyAdd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * WG + lid;
  let c = spreadColumn(g % pr.cols, pr.cols);
  let r0 = (g / pr.cols) * ROWS;
  if (r0 >= pr.rows) {
    return;
  }
  let m = coef[c];
  let a = coef[pr.cols + c];
  let b = coef[2u * pr.cols + c];
  let r1 = min(r0 + ROWS, pr.rows);
  for (var row = r0; row < r1; row++) {
    let i = row * pr.cols + c;
    yr[i] = fma(x[i] - m, a, b) + r[i];
  }
}
