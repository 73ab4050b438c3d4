// Squeeze-and-excitation pieces, backward. Tensors are read as {{T}}
// (LANES consecutive floats); the host picks LANES = 4 when the shape allows.

struct Params {
  count: u32,   // {{T}} elements in the flat tensors
  cols: u32,    // C / LANES (channelScale only)
  hw: u32,      // H * W (channelScale only)
  n: u32,       // N (channelScale only)
}

override WG: u32;    // invocations per workgroup
override PER: u32;   // consecutive {{T}} elements per invocation (flat entries)

@group(0) @binding(0) var<storage, read> x: array<{{T}}>;          // [N, H, W, C]
@group(0) @binding(1) var<storage, read> s: array<{{T}}>;          // [N, C]
@group(0) @binding(2) var<storage, read> dy: array<{{T}}>;         // [N, H, W, C]
@group(0) @binding(3) var<storage, read_write> dx: array<{{T}}>;   // [N, H, W, C]
@group(0) @binding(4) var<storage, read_write> ds: array<{{T}}>;   // [N, C]
@group(0) @binding(5) var<uniform> p: Params;

// Backward of y = x * s[n, c]: dx = dy * s[n, c], ds[n, c] = sum_hw dy * x.
// One invocation owns one (n, column) pair and walks its H * W pixels in
// order, so ds is a deterministic sum with no atomics; neighbouring
// invocations own neighbouring columns. No workgroup memory, no barriers.
@compute @workgroup_size(WG)
fn scale(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * WG + lid;
  if (g >= p.n * p.cols) {
    return;
  }
  let c = g % p.cols;
  let base = (g / p.cols) * p.hw * p.cols + c;
  let sv = s[g];
  var acc = {{T}}(0.0);
  for (var k = 0u; k < p.hw; k++) {
    let i = base + k * p.cols;
    let d = dy[i];
    dx[i] = d * sv;
    acc = fma(d, x[i], acc);
  }
  ds[g] = acc;
}

@group(0) @binding(0) var<storage, read> fa: array<{{T}}>;         // [count] y (sigmoid) or x (relu)
@group(0) @binding(1) var<storage, read> fdy: array<{{T}}>;        // [count]
@group(0) @binding(2) var<storage, read_write> fdx: array<{{T}}>;  // [count]
@group(0) @binding(3) var<uniform> fp: Params;

fn firstOf(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return ((wid.x + wid.y * nwg.x) * WG + lid) * PER;
}

// dx = dy * y * (1 - y), from the sigmoid's output y. PER elements each.
@compute @workgroup_size(WG)
fn sigmoid(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let first = firstOf(wid, nwg, lid);
  for (var j = 0u; j < PER; j++) {
    let i = first + j;
    if (i < fp.count) {
      let v = fa[i];
      fdx[i] = fdy[i] * v * (1.0 - v);
    }
  }
}

// dx = dy where x > 0, else 0. PER elements each.
@compute @workgroup_size(WG)
fn relu(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let first = firstOf(wid, nwg, lid);
  for (var j = 0u; j < PER; j++) {
    let i = first + j;
    if (i < fp.count) {
      fdx[i] = select({{T}}(0.0), fdy[i], fa[i] > {{T}}(0.0));
    }
  }
}
