// The "rows" pointwise GEMM, y[M, N] = x[M, K] W, for software devices.
// Lanes own rows and the workgroup owns a block of TN4 output vec4 groups.
// Each invocation loads that block of W (KC x 4*TN4 floats) once into a
// private array (registers and stack slots), then walks RB rows, WG apart,
// reading each row of x as KC/4 vec4s and storing TN4 vec4s. On lavapipe
// every storage-buffer access is issued lane by lane and costs far more
// than an FMA, whatever its address pattern, so the win is in loading W
// once per RB rows instead of once per row block: about 1.5-2.5x over the
// tiled kernel (pwconv.forward.wgsl) at the 16->96 and 24->144 shapes. A
// workgroup is one 8-lane SIMD group (WG 8), so its lanes walk contiguous
// rows, 8 at a time: with 64 lanes each SIMD group strode 64 rows per
// step, up to 1.3x slower at M 50176 and 2x at 6272. A real GPU would
// spill the array, so it is chosen on software adapters only
// (selectPwconvVariant).
//
// A reduction wider than MAX_K is walked in chunks of KC channels (a
// divisor of K, at most MAX_CHUNK): per chunk the invocation loads that
// slice of W, then passes over its rows again, adding the chunk's products
// to the partial sums it stored in y after the previous chunk (its own
// rows only, so no other invocation touches them). The round trip costs
// 2 x TN4 vec4 accesses per row and chunk, far fewer than the tiled
// kernel's per-k loads: 1.2-1.75x over it (rowsPays), for the narrow
// outputs of wide reductions (96->16 input gradient, 144->24 forward and
// input gradient) too, where nothing tried before beat the tiled kernel
// (README, dead ends). The sums still run
// over k in order, so results match the single-chunk order exactly.
//
// W is w [K, N] for the forward pass, or w [N, K] read transposed for the
// input gradient dx = dy w^T (no transpose pass). The optional batch-norm
// prologue (BnPrologue) is applied to x as it is loaded, and the optional
// residual r [M, N] is added on store (the first chunk starts from it), as
// in the tiled kernel.
//
// The WGSL is generated: the FMAs over KC and TN4 are unrolled in the text
// (lavapipe does not unroll loops over override constants) and read W at
// constant indices; W itself is loaded by a loop, which keeps the first
// compile near 0.35 s (unrolled loads took 4-9 s). Rows past M are clamped
// on load and skipped on store; a ragged last column block clamps its W
// loads and skips its stores.

import type { Gpu } from "../runtime/gpu.ts";
import type { Tensor } from "../runtime/tensor.ts";
import type { BnPrologue } from "./batchnorm.ts";

export const ROWS_CONFIG = {
  /** invocations per workgroup: one 8-lane SIMD group of lavapipe (see the header) */
  WG: 8,
  /** largest K (the reduction) the kernel holds in registers in one piece */
  MAX_K: 32,
  /** widest chunk of a reduction over MAX_K */
  MAX_CHUNK: 24,
  /** chunks at most where the chunked kernel is chosen (rowsPays) */
  MAX_CHUNKS: 8,
  /** W floats held per invocation (K x 4*TN4); above it the registers spill */
  W_FLOATS: 384,
  /** widest column block, in vec4 groups */
  MAX_TN4: 6,
  /** rows per invocation: the largest power of two up to this... */
  MAX_RB: 64,
  MIN_RB: 4,
  /** ...that still leaves at least this many workgroups */
  MIN_GROUPS: 16,
} as const;

export interface RowsGemm {
  readonly M: number;
  /** the reduction (x's width) */
  readonly K: number;
  /** the output width */
  readonly N: number;
}

export interface RowsOptions {
  /** w is [N, K] and read transposed (the input gradient) instead of [K, N] */
  readonly transposed: boolean;
  readonly pre?: BnPrologue;
  readonly residual?: Tensor;
}

/** Whether the rows kernel takes a GEMM of this reduction and output width. */
export function rowsEligible(K: number, N: number): boolean {
  return K % 4 === 0 && N % 4 === 0 && K > 0 && N > 0;
}

/**
 * Whether the rows kernel should beat the tiled one. Side by side
 * (bench/rows-tune.ts, medians of 15 interleaved rounds, workgroups of 8):
 * a one-chunk reduction wins about 2x; a chunked one wins 1.15-1.75x at
 * every M measured (2048-50176 rows: the fmnist space's 7x7 and 4x4 maps
 * and the benchmark's 28x28 and 14x14 ones), and ties the tiled kernel at
 * 24 and 48 chunks (K 576, 1152), where each chunk re-fetches the lines of
 * x that the previous one left half used. It is chosen for at most
 * MAX_CHUNKS chunks.
 */
export function rowsPays(K: number, N: number): boolean {
  if (!rowsEligible(K, N)) return false;
  return K <= ROWS_CONFIG.MAX_K || K / rowsChunk(K) <= ROWS_CONFIG.MAX_CHUNKS;
}

/**
 * The reduction's chunk: all of K up to MAX_K, else the widest multiple of
 * 4 up to MAX_CHUNK that divides K (4 always does).
 */
export function rowsChunk(K: number): number {
  const { MAX_K, MAX_CHUNK } = ROWS_CONFIG;
  if (K <= MAX_K) return K;
  let kc = MAX_CHUNK - (MAX_CHUNK % 4);
  while (K % kc !== 0) kc -= 4;
  return kc;
}

/**
 * The column block width in vec4 groups: as wide as the W budget allows
 * for the reduction's chunk, narrowed to a divisor of N/4 when one is at
 * least half as wide (a ragged last block otherwise).
 */
export function rowsBlockWidth(K: number, N: number): number {
  const budget = Math.floor(ROWS_CONFIG.W_FLOATS / (4 * rowsChunk(K)));
  return tileWidth(N / 4, Math.max(1, Math.min(ROWS_CONFIG.MAX_TN4, budget)));
}

/**
 * Rows per invocation for M rows and nb column blocks (a power of two)
 * when the reduction is one chunk; a chunked one takes MAX_RB.
 */
export function rowsPerInvocation(M: number, nb: number): number {
  const { WG, MAX_RB, MIN_RB, MIN_GROUPS } = ROWS_CONFIG;
  const rowBlocks = Math.ceil(MIN_GROUPS / nb);
  let rb = MAX_RB;
  while (rb > MIN_RB && Math.ceil(M / (WG * rb)) < rowBlocks) rb /= 2;
  return rb;
}

// Generated WGSL by pipeline name (the name spells every baked-in value),
// so a dispatch whose pipeline is cached does not rebuild its text.
const sources = new Map<string, string>();
function generated(name: string, make: () => string): string {
  let code = sources.get(name);
  if (code === undefined) sources.set(name, (code = make()));
  return code;
}

const clamp6 = (v: string): string => `clamp(${v}, vec4f(0.0), vec4f(6.0))`;

/**
 * The WGSL of one variant: the chunk KC (rowsChunk) and TN4 unrolled, the
 * prologue and residual optional.
 */
export function rowsCode(
  K: number,
  TN4: number,
  transposed: boolean,
  pre: "none" | "bn" | "bn6",
  residual: boolean,
): string {
  const KC = rowsChunk(K);
  const chunked = KC < K;
  const K4 = KC / 4;
  const L: string[] = [];
  let b = 3;
  L.push(
    "struct Params { M: u32, K: u32, N: u32, }",
    "@group(0) @binding(0) var<storage, read> x4: array<vec4f>;  // [M, K]",
    transposed
      ? "@group(0) @binding(1) var<storage, read> w: array<f32>;  // [N, K]"
      : "@group(0) @binding(1) var<storage, read> w4: array<vec4f>;  // [K, N]",
    "@group(0) @binding(2) var<storage, read_write> y4: array<vec4f>;  // [M, N]",
  );
  if (pre !== "none")
    L.push(`@group(0) @binding(${b++}) var<storage, read> coef4: array<vec4f>;  // [3, K]`);
  if (residual)
    L.push(`@group(0) @binding(${b++}) var<storage, read> r4: array<vec4f>;  // [M, N]`);
  L.push(
    `@group(0) @binding(${b}) var<uniform> p: Params;`,
    "override WG: u32;",
    "override RB: u32;",
    "",
    "@compute @workgroup_size(WG)",
    "fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,",
    "        @builtin(local_invocation_index) lid: u32) {",
    "  let n4 = p.N / 4u;",
    `  let nb = (n4 + ${TN4 - 1}u) / ${TN4}u;`,
    "  let g = wid.x + wid.y * nwg.x;",
    `  let cb = (g % nb) * ${TN4}u;`,
    "  let m0 = (g / nb) * WG * RB;",
    "  if (m0 >= p.M) { return; }",
    `  var wr: array<vec4f, ${KC * TN4}>;`,
  );
  // k0: the chunk's first channel (a loop over the chunks, or the constant 0).
  const I = chunked ? "  " : "";
  if (chunked) L.push(`  for (var k0 = 0u; k0 < ${K}u; k0 += ${KC}u) {`);
  else L.push("  let k0 = 0u;");
  // The chunk's block of W, once per invocation, into the private array
  // that the unrolled FMAs below read at constant indices (a loop here
  // keeps the generated code, and lavapipe's compile time, small).
  // Transposed: element k of output columns c * 4 .. c * 4 + 3 of w [N, K].
  const WN = KC * TN4;
  const wT = [0, 1, 2, 3].map((j) => `w[(c * 4u + ${j}u) * ${K}u + k]`).join(", ");
  L.push(
    `${I}  for (var i = 0u; i < ${WN}u; i++) {`,
    `${I}    let k = k0 + i / ${TN4}u;`,
    `${I}    let c = min(cb + i % ${TN4}u, n4 - 1u);`,
    transposed ? `${I}    wr[i] = vec4f(${wT});` : `${I}    wr[i] = w4[k * n4 + c];`,
    `${I}  }`,
  );
  if (pre !== "none") {
    const q0 = chunked ? "k0 / 4u + " : "";
    for (let q = 0; q < K4; q++) {
      L.push(
        `${I}  let pm${q} = coef4[${q0}${q}u];`,
        `${I}  let pa${q} = coef4[${q0}${K / 4 + q}u];`,
        `${I}  let pb${q} = coef4[${q0}${(2 * K) / 4 + q}u];`,
      );
    }
  }
  L.push(
    `${I}  for (var rb = 0u; rb < RB; rb++) {`,
    `${I}    let m = m0 + rb * WG + lid;`,
    `${I}    let mc = min(m, p.M - 1u);`,
    `${I}    let xr = mc * ${K / 4}u + k0 / 4u;`,
    `${I}    let o = mc * n4 + cb;`,
  );
  // The sums start from the residual (or zero), and after the first chunk
  // from this invocation's own partial sums in y.
  const col = (t: number): string => (t === 0 ? "o" : `mc * n4 + min(cb + ${t}u, n4 - 1u)`);
  for (let t = 0; t < TN4; t++)
    L.push(`${I}    var a${t} = ${residual ? `r4[${col(t)}]` : "vec4f(0.0)"};`);
  if (chunked) {
    L.push(`${I}    if (k0 > 0u) {`);
    for (let t = 0; t < TN4; t++) L.push(`${I}      a${t} = y4[${col(t)}];`);
    L.push(`${I}    }`);
  }
  for (let q = 0; q < K4; q++) {
    const load = `x4[xr + ${q}u]`;
    const bn = `fma(${load} - pm${q}, pa${q}, pb${q})`;
    L.push(`${I}    let xv${q} = ${pre === "none" ? load : pre === "bn" ? bn : clamp6(bn)};`);
    for (let j = 0; j < 4; j++) {
      const k = 4 * q + j;
      for (let t = 0; t < TN4; t++)
        L.push(`${I}    a${t} = fma(vec4f(xv${q}[${j}]), wr[${k * TN4 + t}], a${t});`);
    }
  }
  L.push(`${I}    if (m < p.M) {`);
  for (let t = 0; t < TN4; t++) {
    const store = t === 0 ? "y4[o] = a0;" : `if (cb + ${t}u < n4) { y4[o + ${t}u] = a${t}; }`;
    L.push(`${I}      ${store}`);
  }
  L.push(`${I}    }`, `${I}  }`);
  if (chunked) L.push("  }");
  L.push("}");
  return L.join("\n");
}

/** Records y = x W (+ residual) with the rows kernel; the caller has checked shapes. */
export function recordRowsGemm(
  gpu: Gpu,
  x: Tensor,
  w: Tensor,
  y: Tensor,
  g: RowsGemm,
  opts: RowsOptions,
): void {
  const { M, K, N } = g;
  if (!rowsEligible(K, N)) {
    throw new Error(`pwconv.rows: needs K and N positive multiples of 4, got K ${K} N ${N}`);
  }
  const { WG } = ROWS_CONFIG;
  const { transposed, pre, residual } = opts;
  const TN4 = rowsBlockWidth(K, N);
  const nb = Math.ceil(N / 4 / TN4);
  const RB = rowsChunk(K) < K ? ROWS_CONFIG.MAX_RB : rowsPerInvocation(M, nb);
  const preKind = pre ? (pre.relu6 ? "bn6" : "bn") : "none";
  const KC = rowsChunk(K);
  const chunk = KC < K ? `c${KC}` : "";
  const parts = [`k${K}`, chunk, `tn${TN4}`, transposed ? "t" : "", pre ? preKind : ""];
  const tag = [...parts, residual ? "residual" : ""].filter(Boolean).join(".");
  const name = `pwconv.rows.${tag}`;
  const pipe = gpu.pipeline({
    name,
    code: generated(name, () => rowsCode(K, TN4, transposed, preKind, residual !== undefined)),
    entryPoint: "main",
    constants: { WG, RB },
  });
  const tensors = [x, w, y, ...(pre ? [pre.coef] : []), ...(residual ? [residual] : [])];
  const groups = nb * Math.ceil(M / (WG * RB));
  gpu.dispatch(pipe, { tensors, params: [M, K, N], groups });
}

// ---- weight gradient: dw[CI, CO] = x[M, CI]^T dy[M, CO] ----
//
// The same idea for the reduction over rows: lanes own rows and the
// workgroup owns a tile of dw, CB4 input-channel by TC4 output-channel vec4
// groups (16 x 16 at most, 64 vec4 accumulators). Lane l of workgroup
// block b walks rows b * WG * ROWS + l, + WG, ... so the 8 lanes of a SIMD
// group read 8 neighbouring rows, and each row costs CB4 + TC4 vec4 loads
// for CB4 * TC4 * 4 vec4 FMAs: twice the FMAs per load of the 8 x 8 tiled
// split kernel. Every invocation writes its own partial sum (slice b * WG +
// l of part [SLICES, CI, CO]); the split kernel's fixed-order reduce adds
// them, so results are bit-for-bit repeatable. The optional batch-norm
// prologue is applied to x as it is loaded.

export const ROWS_WEIGHT_CONFIG = {
  /** invocations per workgroup: one 8-lane SIMD group of lavapipe */
  WG: 8,
  /** widest tile, in vec4 groups of input and of output channels */
  MAX_CB4: 4,
  MAX_TC4: 4,
  /** workgroups (tiles x blocks) the dispatch aims for; more blocks only add partial sums */
  MIN_GROUPS: 16,
  /** rows per invocation at least, before the dispatch is cut to fewer blocks */
  MIN_ROWS: 16,
  /** floats in the partial sums at most (as the split kernel's bound) */
  MAX_PARTIAL_FLOATS: 16 * 2 ** 20,
} as const;

export interface RowsWeightPlan {
  /** tile width in input- and output-channel vec4 groups */
  readonly CB4: number;
  readonly TC4: number;
  /** tiles of dw, and workgroups (blocks of WG lanes) per tile */
  readonly tiles: number;
  readonly blocks: number;
  /** rows each lane walks at most */
  readonly rows: number;
  /** partial sums written: blocks x WG */
  readonly slices: number;
}

/**
 * Whether the rows weight gradient takes these channel counts (one block's
 * partials must fit). On a software adapter it is then chosen: side by side
 * with the 8 x 8 split kernel (bench/rows-tune.ts, workgroups of 8) it won
 * 1.1-1.7x on every layer measured, narrowing or widening, from the fmnist
 * space's maps (M 2048-6272) to 96->576 and 1152->192.
 */
export function rowsWeightEligible(CI: number, CO: number): boolean {
  const { WG, MAX_PARTIAL_FLOATS } = ROWS_WEIGHT_CONFIG;
  return CI > 0 && CO > 0 && CI % 4 === 0 && CO % 4 === 0 && WG * CI * CO <= MAX_PARTIAL_FLOATS;
}

/** Up to `widest` groups of n4, narrowed to a divisor of n4 when one is at least half as wide. */
function tileWidth(n4: number, widest: number): number {
  const w = Math.min(widest, n4);
  for (let t = w; t * 2 >= w; t--) if (n4 % t === 0) return t;
  return w;
}

/** The tile and the split of the M rows into blocks for a weight gradient. */
export function rowsWeightPlan(M: number, CI: number, CO: number): RowsWeightPlan {
  const { WG, MAX_CB4, MAX_TC4, MIN_GROUPS, MIN_ROWS, MAX_PARTIAL_FLOATS } = ROWS_WEIGHT_CONFIG;
  const CB4 = tileWidth(CI / 4, MAX_CB4);
  const TC4 = tileWidth(CO / 4, MAX_TC4);
  const tiles = Math.ceil(CI / 4 / CB4) * Math.ceil(CO / 4 / TC4);
  const wanted = Math.ceil(MIN_GROUPS / tiles);
  const byRows = Math.floor(M / (WG * MIN_ROWS));
  const bySize = Math.floor(MAX_PARTIAL_FLOATS / (WG * CI * CO));
  const blocks = Math.max(1, Math.min(wanted, byRows, bySize));
  const rows = Math.ceil(M / (blocks * WG));
  return { CB4, TC4, tiles, blocks, rows, slices: blocks * WG };
}

/** The WGSL of one weight-gradient tile shape, unrolled, with the prologue optional. */
export function rowsWeightCode(CB4: number, TC4: number, pre: "none" | "bn" | "bn6"): string {
  const L: string[] = [
    "struct Params { M: u32, CI: u32, CO: u32, ROWS: u32, }",
    "@group(0) @binding(0) var<storage, read> x4: array<vec4f>;  // [M, CI]",
    "@group(0) @binding(1) var<storage, read> dy4: array<vec4f>;  // [M, CO]",
    "@group(0) @binding(2) var<storage, read_write> part4: array<vec4f>;  // [SLICES, CI, CO]",
  ];
  if (pre !== "none")
    L.push("@group(0) @binding(3) var<storage, read> coef4: array<vec4f>;  // [3, CI]");
  L.push(
    `@group(0) @binding(${pre === "none" ? 3 : 4}) var<uniform> p: Params;`,
    "override WG: u32;",
    "",
    "@compute @workgroup_size(WG)",
    "fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,",
    "        @builtin(local_invocation_index) lid: u32) {",
    "  let ci4 = p.CI / 4u;",
    "  let co4 = p.CO / 4u;",
    `  let nbo = (co4 + ${TC4 - 1}u) / ${TC4}u;`,
    `  let tiles = ((ci4 + ${CB4 - 1}u) / ${CB4}u) * nbo;`,
    "  let g = wid.x + wid.y * nwg.x;",
    `  let ob = (g % tiles % nbo) * ${TC4}u;`,
    `  let ib = (g % tiles / nbo) * ${CB4}u;`,
    "  let blk = g / tiles;",
    "  let m0 = blk * WG * p.ROWS;",
    "  let mEnd = min(p.M, m0 + WG * p.ROWS);",
  );
  // A ragged last tile clamps its loads (and skips their stores below).
  for (let q = 0; q < CB4; q++) L.push(`  let xi${q} = min(ib + ${q}u, ci4 - 1u);`);
  for (let t = 0; t < TC4; t++) L.push(`  let oi${t} = min(ob + ${t}u, co4 - 1u);`);
  if (pre !== "none") {
    for (let q = 0; q < CB4; q++) {
      L.push(
        `  let pm${q} = coef4[xi${q}];`,
        `  let pa${q} = coef4[ci4 + xi${q}];`,
        `  let pb${q} = coef4[2u * ci4 + xi${q}];`,
      );
    }
  }
  for (let c = 0; c < 4 * CB4; c++)
    for (let t = 0; t < TC4; t++) L.push(`  var a${c}_${t} = vec4f(0.0);`);
  L.push("  for (var m = m0 + lid; m < mEnd; m += WG) {");
  for (let q = 0; q < CB4; q++) {
    const load = `x4[m * ci4 + xi${q}]`;
    const bn = `fma(${load} - pm${q}, pa${q}, pb${q})`;
    L.push(`    let xv${q} = ${pre === "none" ? load : pre === "bn" ? bn : clamp6(bn)};`);
  }
  for (let t = 0; t < TC4; t++) L.push(`    let d${t} = dy4[m * co4 + oi${t}];`);
  for (let c = 0; c < 4 * CB4; c++)
    for (let t = 0; t < TC4; t++)
      L.push(`    a${c}_${t} = fma(vec4f(xv${c >> 2}[${c & 3}]), d${t}, a${c}_${t});`);
  L.push("  }", "  let o = ((blk * WG + lid) * p.CI + ib * 4u) * co4 + ob;");
  for (let q = 0; q < CB4; q++) {
    L.push(q === 0 ? "  {" : `  if (ib + ${q}u < ci4) {`);
    for (let c = 4 * q; c < 4 * q + 4; c++)
      for (let t = 0; t < TC4; t++) {
        const store = `part4[o + ${c}u * co4 + ${t}u] = a${c}_${t};`;
        L.push(t === 0 ? `    ${store}` : `    if (ob + ${t}u < co4) { ${store} }`);
      }
    L.push("  }");
  }
  L.push("}");
  return L.join("\n");
}

/**
 * Records the rows weight gradient's partial sums into part [slices, CI, CO]
 * (the caller reduces them); the caller has checked shapes and eligibility.
 */
export function recordRowsWeight(
  gpu: Gpu,
  x: Tensor,
  dy: Tensor,
  part: Tensor,
  g: { readonly M: number; readonly CI: number; readonly CO: number },
  plan: RowsWeightPlan,
  pre?: BnPrologue,
): void {
  const { WG } = ROWS_WEIGHT_CONFIG;
  const preKind = pre ? (pre.relu6 ? "bn6" : "bn") : "none";
  const name = `pwconv.backward-weight.rows${plan.CB4}x${plan.TC4}${pre ? `.${preKind}` : ""}`;
  const pipe = gpu.pipeline({
    name,
    code: generated(name, () => rowsWeightCode(plan.CB4, plan.TC4, preKind)),
    entryPoint: "main",
    constants: { WG },
  });
  const tensors = pre ? [x, dy, part, pre.coef] : [x, dy, part];
  const params = [g.M, g.CI, g.CO, plan.rows];
  gpu.dispatch(pipe, { tensors, params, groups: plan.tiles * plan.blocks });
}
