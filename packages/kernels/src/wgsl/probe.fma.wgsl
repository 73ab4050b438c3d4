// FMA-bound probe: the arithmetic ceiling that kernel benchmarks are compared
// with. One invocation owns one output value and keeps 16 independent scalar
// f32 accumulators in named variables; each loop iteration advances every one
// by UNROLL dependent fused multiply-adds, written out straight. No workgroup
// memory, no barriers. FLOPs = invocations * iters * 16 * UNROLL * 2.
//
// Why it is written this way (lavapipe): a private array indexed in a loop is
// not kept in registers, and a loop iteration costs about as much as a few
// dozen FMAs of mask and branch bookkeeping, so a body of only 16 FMAs per
// iteration measured about a third of the ceiling. 16 accumulators x 8 FMAs
// per iteration reaches it; much larger bodies fall off again.

struct Params {
  count: u32,   // invocations that store a result (all dispatched ones)
  iters: u32,   // iterations of the accumulator loop (a uniform, so not folded)
  a: f32,       // multiplier, just below 1 so values stay normal and finite
  b: f32,       // addend
}

@group(0) @binding(0) var<storage, read_write> y: array<f32>;  // [count] one sum per invocation
@group(0) @binding(1) var<uniform> p: Params;

override WG: u32;   // invocations per workgroup

// FMAs per accumulator per iteration (the host's cost model uses the same number).
const UNROLL = 8u;

// UNROLL dependent FMAs on one accumulator (inlined by the compiler).
fn steps(x: f32, m: f32, c: f32) -> f32 {
  var v = x;
  v = fma(v, m, c); v = fma(v, m, c); v = fma(v, m, c); v = fma(v, m, c);
  v = fma(v, m, c); v = fma(v, m, c); v = fma(v, m, c); v = fma(v, m, c);
  return v;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  let m = p.a;
  let c = p.b;
  let x = f32(i) * 1e-6;
  var a0 = x;          var a1 = x + 1e-6;   var a2 = x + 2e-6;   var a3 = x + 3e-6;
  var a4 = x + 4e-6;   var a5 = x + 5e-6;   var a6 = x + 6e-6;   var a7 = x + 7e-6;
  var a8 = x + 8e-6;   var a9 = x + 9e-6;   var a10 = x + 10e-6; var a11 = x + 11e-6;
  var a12 = x + 12e-6; var a13 = x + 13e-6; var a14 = x + 14e-6; var a15 = x + 15e-6;
  for (var it = 0u; it < p.iters; it++) {
    a0 = steps(a0, m, c);   a1 = steps(a1, m, c);   a2 = steps(a2, m, c);   a3 = steps(a3, m, c);
    a4 = steps(a4, m, c);   a5 = steps(a5, m, c);   a6 = steps(a6, m, c);   a7 = steps(a7, m, c);
    a8 = steps(a8, m, c);   a9 = steps(a9, m, c);   a10 = steps(a10, m, c); a11 = steps(a11, m, c);
    a12 = steps(a12, m, c); a13 = steps(a13, m, c); a14 = steps(a14, m, c); a15 = steps(a15, m, c);
  }
  let sum = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
          + ((a8 + a9) + (a10 + a11)) + ((a12 + a13) + (a14 + a15));
  if (i < p.count) {
    y[i] = sum;
  }
}
