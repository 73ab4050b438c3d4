// FMA-bound probe: the arithmetic ceiling that kernel benchmarks are compared
// with. One invocation owns one output value and keeps ACC independent scalar
// accumulators, each updated by one fused multiply-add per iteration, so the
// compiler can keep them all in registers and no update waits on another.
// No workgroup memory, no barriers. FLOPs = invocations * iters * ACC * 2.

struct Params {
  count: u32,   // invocations that store a result (all dispatched ones)
  iters: u32,   // iterations of the accumulator loop (a uniform, so not folded)
  a: f32,       // multiplier, just below 1 so values stay normal and finite
  b: f32,       // addend
}

@group(0) @binding(0) var<storage, read_write> y: array<f32>;  // [count] one sum per invocation
@group(0) @binding(1) var<uniform> p: Params;

override WG: u32;   // invocations per workgroup

// Accumulators per invocation, filled in by the host: a private array cannot
// take an override length.
const ACC = {{ACC}}u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  var acc: array<f32, ACC>;
  for (var j = 0u; j < ACC; j++) {
    acc[j] = f32(i + j) * 1e-6;
  }
  for (var it = 0u; it < p.iters; it++) {
    for (var j = 0u; j < ACC; j++) {
      acc[j] = fma(acc[j], p.a, p.b);
    }
  }
  var sum = 0.0;
  for (var j = 0u; j < ACC; j++) {
    sum += acc[j];
  }
  if (i < p.count) {
    y[i] = sum;
  }
}
