// Generated WGSL for the "slide" depthwise kernels (channels in vec4s).
//
// One invocation owns one channel vector and a strip of TH rows; it walks
// the strip column by column keeping a sliding window of input columns in
// named registers, so each input value is loaded once per strip instead of
// once per tap, and the K x K weights are loaded once per invocation. The
// code is generated for each (K, S, TH) with every tap written out: on
// lavapipe a private array indexed in a loop lives in memory and loops over
// override constants are not reliably unrolled, while named values stay in
// registers (or in plain spill slots, still far cheaper than the per-lane
// storage loads they replace). Measured side by side with the tiled kernels
// on the 2-core lavapipe machine: about 2x for every pass at stride 1 (3x3,
// 5x5); for 7x7 stride 2 about 1.5x forward and 2x for both gradients.
//
// Padding is "same" (P = (K - 1) / 2). Each window load sits in a branch
// on its row and column being inside the image (zero otherwise; see
// loadInto), and stores outside the output are skipped.
//
// Bindings follow dwconv.forward.wgsl / dwconv.backward-*.wgsl: inputs,
// then the output, then the uniform parameters. The forward and the weight
// gradient can take a batch-norm prologue on x (BnPrologue in batchnorm.ts:
// v' = (v - m) * a + b per channel, optionally clamped to [0, 6]): its
// table is one more input (binding 2, before the output), each invocation
// loads its channel vector's three coefficients once, and every in-image
// load of x is normalized as it enters the window (padding stays zero, as
// it is in the normalized tensor).

import { SPREAD_WGSL } from "../runtime/spread.ts";

/** The prologue a generated kernel applies to x: none, BN, or BN + ReLU6. */
export type SlidePrologue = "none" | "bn" | "bn6";

const HEADER = `struct Params {
  N: u32,
  H: u32,
  W: u32,
  CV: u32,              // channel vectors per pixel
  OH: u32,
  OW: u32,
  groups: u32,          // backward-weight: G partial sums
  blocksPerGroup: u32,  // backward-weight: strips per partial sum
  accumulate: u32,      // unused here (the reduce pass adds into dw)
}

override WG: u32;       // invocations per workgroup
${SPREAD_WGSL}`;

// Invocation i owns channel vector cv of strip i / CV, dealt out by the
// lane spread (runtime/spread.ts).
const ENTRY = `@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  let cv = spreadColumn(i % p.CV, p.CV);`;

function checkGeometry(K: number, S: number, TH: number): void {
  if (![3, 5, 7].includes(K) || ![1, 2].includes(S)) {
    throw new Error(`dwconv slide: unsupported kernel ${K} / stride ${S}`);
  }
  if (!Number.isInteger(TH) || TH < 1 || TH > 16) {
    throw new Error(`dwconv slide: strip height ${TH} must be an integer in 1..16`);
  }
}

/** Loads the K x K weights of channel vector cv as w{a}_{b}. */
function weightLoads(K: number): string[] {
  const out: string[] = [];
  for (let a = 0; a < K; a++)
    for (let b = 0; b < K; b++) out.push(`  let w${a}_${b} = w[${a * K + b}u * p.CV + cv];`);
  return out;
}

/** The invocation's strip: image n and first row `first` of TH rows out of `rows`. */
function stripOf(rows: string, first: string, TH: number): string[] {
  return [
    `  let strips = (${rows} + ${TH - 1}u) / ${TH}u;`,
    "  let live = i < p.N * strips * p.CV;",
    "  let r = min(i / p.CV, p.N * strips - 1u);",
    `  let ${first} = (r % strips) * ${TH}u;`,
    "  let n = r / strips;",
  ];
}

/** Row r of a strip: validity ok{r} and pixel base{r} of (n, clamped row). */
function rowSetup(
  prefix: string,
  count: number,
  first: string,
  rows: string,
  cols: string,
  keep: (r: number) => boolean = () => true,
): string[] {
  const out: string[] = [];
  for (let r = 0; r < count; r++) {
    if (!keep(r)) continue;
    out.push(`  let ${prefix}ih${r} = ${first} + ${r};`);
    out.push(`  let ${prefix}ok${r} = ${prefix}ih${r} >= 0 && ${prefix}ih${r} < i32(${rows});`);
    const row = `u32(clamp(${prefix}ih${r}, 0, i32(${rows}) - 1))`;
    out.push(`  let ${prefix}base${r} = (n * ${rows} + ${row}) * ${cols};`);
  }
  return out;
}

/**
 * Sets `target` to the vec4 of `buf` at row r (prefix) and signed column
 * `col`, normalized by the prologue `pre` (whose coefficients are pm, pa,
 * pb), or to zero outside the image; `decl` declares it (`var`). The load
 * sits in a branch rather than being selected away: on lavapipe a storage
 * load runs lane by lane under the execution mask, so padding taps that
 * never enter the branch cost no memory access (about a quarter of the
 * window loads at 7x7 stride 2; 1.2-1.4x for that kernel's forward,
 * 0.97-1.2x for stride-1 kernels at 28x28, side by side). The address
 * stays clamped: dropping the clamp measured slower.
 */
function loadInto(
  target: string,
  decl: boolean,
  buf: string,
  prefix: string,
  r: number,
  col: string,
  cols: string,
  pre: SlidePrologue = "none",
): string {
  let v = `${buf}[(${prefix}base${r} + u32(clamp(${col}, 0, i32(${cols}) - 1))) * p.CV + cv]`;
  if (pre !== "none") v = `fma(${v} - pm, pa, pb)`;
  if (pre === "bn6") v = `clamp(${v}, vec4f(0.0), vec4f(6.0))`;
  const ok = `${prefix}ok${r} && ${col} >= 0 && ${col} < i32(${cols})`;
  return `${decl ? "var " : ""}${target} = vec4f(0.0); if (${ok}) { ${target} = ${v}; }`;
}

/** Declarations of an input x [N, H, W, C], binding 0, and the prologue table. */
function xBindings(pre: SlidePrologue, other: string, out: string): string[] {
  const L = [
    "@group(0) @binding(0) var<storage, read> x: array<vec4f>;           // [N, H, W, C]",
    other,
  ];
  if (pre !== "none") {
    L.push("@group(0) @binding(2) var<storage, read> coef: array<vec4f>;        // [3, C]");
  }
  const b = pre === "none" ? 2 : 3;
  L.push(`@group(0) @binding(${b}) var<storage, read_write> ${out}`);
  L.push(`@group(0) @binding(${b + 1}) var<uniform> p: Params;`);
  return L;
}

/** The channel vector's prologue coefficients (after cv is known). */
function prologueLoads(pre: SlidePrologue): string[] {
  if (pre === "none") return [];
  return [
    "  let pm = coef[cv];",
    "  let pa = coef[p.CV + cv];",
    "  let pb = coef[2u * p.CV + cv];",
  ];
}

/**
 * Forward: y[n, oh, ow] = sum_{a,b} x[n, oh*S - P + a, ow*S - P + b] w[a, b].
 * An invocation owns TH output rows; the window holds K columns of the
 * (TH - 1) * S + K input rows those rows read. Dispatch N * ceil(OH / TH) * CV
 * invocations.
 */
export function slideForwardWgsl(
  K: number,
  S: number,
  TH: number,
  pre: SlidePrologue = "none",
): string {
  checkGeometry(K, S, TH);
  const P = (K - 1) / 2;
  const R = (TH - 1) * S + K;
  const L: string[] = [
    `// dwconv forward, slide K${K} S${S} TH${TH} prologue ${pre} (generated by dwconv-slide.ts)`,
    HEADER,
    ...xBindings(
      pre,
      "@group(0) @binding(1) var<storage, read> w: array<vec4f>;           // [K, K, C]",
      "y: array<vec4f>;  // [N, OH, OW, C]",
    ),
    "",
    ENTRY,
    ...stripOf("p.OH", "oh0", TH),
    ...weightLoads(K),
    ...prologueLoads(pre),
    ...rowSetup("", R, `i32(oh0 * ${S}u) - ${P}`, "p.H", "p.W"),
  ];
  for (let j = 0; j < K; j++)
    for (let r = 0; r < R; r++) {
      L.push(
        j < K - S
          ? `  ${loadInto(`c${j}_${r}`, true, "x", "", r, `${j - P}`, "p.W", pre)}`
          : `  var c${j}_${r} = vec4f(0.0);`,
      );
    }
  for (let q = 0; q < TH; q++) {
    L.push(`  let yok${q} = live && oh0 + ${q}u < p.OH;`);
    L.push(`  let yb${q} = (n * p.OH + min(oh0 + ${q}u, p.OH - 1u)) * p.OW;`);
  }
  L.push("  for (var ow = 0u; ow < p.OW; ow++) {");
  L.push(`    let col = i32(ow * ${S}u) - ${P};`);
  for (let j = K - S; j < K; j++)
    for (let r = 0; r < R; r++)
      L.push(`    ${loadInto(`c${j}_${r}`, false, "x", "", r, `col + ${j}`, "p.W", pre)}`);
  for (let q = 0; q < TH; q++) {
    L.push(`    var acc${q} = vec4f(0.0);`);
    for (let a = 0; a < K; a++)
      for (let b = 0; b < K; b++)
        L.push(`    acc${q} = fma(c${b}_${q * S + a}, w${a}_${b}, acc${q});`);
    L.push(`    if (yok${q}) { y[(yb${q} + ow) * p.CV + cv] = acc${q}; }`);
  }
  for (let j = 0; j < K - S; j++)
    for (let r = 0; r < R; r++) L.push(`    c${j}_${r} = c${j + S}_${r};`);
  L.push("  }", "}", "");
  return L.join("\n");
}

/** floor(a / b) for integers, b > 0. */
const fdiv = (a: number, b: number) => Math.floor(a / b);

/**
 * Gradient of the input (the transposed convolution):
 * dx[n, ih, iw] = sum over taps (a, b) with ih + P - a and iw + P - b
 * divisible by S of dy[n, (ih + P - a) / S, (iw + P - b) / S] w[a, b].
 * An invocation owns TH rows of dx (TH a multiple of S) and steps over dx
 * columns S at a time; its window holds the dy rows and columns those read.
 * Dispatch N * ceil(H / TH) * CV invocations.
 */
export function slideBackwardInputWgsl(K: number, S: number, TH: number): string {
  checkGeometry(K, S, TH);
  if (TH % S !== 0) throw new Error(`dwconv slide: strip height ${TH} must be a multiple of ${S}`);
  const P = (K - 1) / 2;
  const F = fdiv(P, S); // dy rows/columns before the strip's own
  const RB = fdiv(TH - 1 + P, S) + F + 1; // dy rows of the window
  const KC = fdiv(S - 1 + P, S) + F + 1; // dy columns of the window
  const L: string[] = [
    `// dwconv backward-input, slide K${K} S${S} TH${TH} (generated by dwconv-slide.ts)`,
    HEADER,
    "@group(0) @binding(0) var<storage, read> dy: array<vec4f>;       // [N, OH, OW, C]",
    "@group(0) @binding(1) var<storage, read> w: array<vec4f>;        // [K, K, C]",
    "@group(0) @binding(2) var<storage, read_write> dx: array<vec4f>; // [N, H, W, C]",
    "@group(0) @binding(3) var<uniform> p: Params;",
    "",
    ENTRY,
    ...stripOf("p.H", "row0", TH),
    ...weightLoads(K),
    ...rowSetup("", RB, `i32(row0 / ${S}u) - ${F}`, "p.OH", "p.OW"),
  ];
  for (let j = 0; j < KC; j++)
    for (let r = 0; r < RB; r++)
      L.push(
        j < KC - 1
          ? `  ${loadInto(`d${j}_${r}`, true, "dy", "", r, `${j - F}`, "p.OW")}`
          : `  var d${j}_${r} = vec4f(0.0);`,
      );
  for (let q = 0; q < TH; q++) {
    L.push(`  let xok${q} = live && row0 + ${q}u < p.H;`);
    L.push(`  let xb${q} = (n * p.H + min(row0 + ${q}u, p.H - 1u)) * p.W;`);
  }
  L.push(`  for (var t = 0u; t * ${S}u < p.W; t++) {`);
  for (let r = 0; r < RB; r++)
    L.push(
      `    ${loadInto(`d${KC - 1}_${r}`, false, "dy", "", r, `i32(t) + ${KC - 1 - F}`, "p.OW")}`,
    );
  for (let q = 0; q < TH; q++) {
    for (let u = 0; u < S; u++) {
      L.push("    {");
      L.push(`      var acc = vec4f(0.0);`);
      for (let a = 0; a < K; a++) {
        if ((((q + P - a) % S) + S) % S !== 0) continue;
        const row = (q + P - a) / S + F;
        for (let b = 0; b < K; b++) {
          if ((((u + P - b) % S) + S) % S !== 0) continue;
          const col = (u + P - b) / S + F;
          L.push(`      acc = fma(d${col}_${row}, w${a}_${b}, acc);`);
        }
      }
      L.push(`      let iw = t * ${S}u + ${u}u;`);
      L.push(`      if (xok${q} && iw < p.W) { dx[(xb${q} + iw) * p.CV + cv] = acc; }`);
      L.push("    }");
    }
  }
  for (let j = 0; j < KC - 1; j++)
    for (let r = 0; r < RB; r++) L.push(`    d${j}_${r} = d${j + 1}_${r};`);
  L.push("  }", "}", "");
  return L.join("\n");
}

/**
 * Gradient of the weights, first pass: partial[g, a, b] = sum over the
 * strips of group g of x[n, oh*S - P + a, ow*S - P + b] dy[n, oh, ow].
 * Strips are TH dy rows; strip s covers image s / ceil(OH / TH). Group g
 * owns strips g * blocksPerGroup .. (g + 1) * blocksPerGroup - 1. Dispatch
 * G * CV invocations, then the fixed-order reduce over G.
 *
 * With `rowParity` (stride 2 only) the kernel computes only the taps whose
 * row a has that parity. Window row r feeds tap row a = r - q * S, so at
 * stride 2 those taps read exactly the window rows of the same parity: two
 * dispatches, one per parity, write disjoint taps of `partial`, each
 * holding half the window and half the accumulators live (the rest spills
 * on a CPU device) at the cost of loading dy twice.
 */
export function slideBackwardWeightWgsl(
  K: number,
  S: number,
  TH: number,
  pre: SlidePrologue = "none",
  rowParity?: 0 | 1,
): string {
  checkGeometry(K, S, TH);
  if (rowParity !== undefined && S !== 2) {
    throw new Error(`dwconv slide: a row-parity split needs stride 2, got ${S}`);
  }
  const P = (K - 1) / 2;
  const R = (TH - 1) * S + K;
  // Window rows r and tap rows a this kernel handles (the same parity at stride 2).
  const keep = (r: number) => rowParity === undefined || r % 2 === rowParity;
  const split = rowParity === undefined ? "" : ` tap rows of parity ${rowParity}`;
  const L: string[] = [
    `// dwconv backward-weight partial sums, slide K${K} S${S} TH${TH} prologue ${pre}${split}` +
      " (generated by dwconv-slide.ts)",
    HEADER,
    ...xBindings(
      pre,
      "@group(0) @binding(1) var<storage, read> dy: array<vec4f>;          // [N, OH, OW, C]",
      "partial: array<vec4f>; // [G, K, K, C]",
    ),
    "",
    ENTRY,
    ...prologueLoads(pre),
    "  let live = i < p.groups * p.CV;",
    "  let g = min(i / p.CV, p.groups - 1u);",
    `  let strips = (p.OH + ${TH - 1}u) / ${TH}u;`,
    "  let s0 = g * p.blocksPerGroup;",
    "  let s1 = min(s0 + p.blocksPerGroup, p.N * strips);",
  ];
  for (let a = 0; a < K; a++) {
    if (!keep(a)) continue;
    for (let b = 0; b < K; b++) L.push(`  var g${a}_${b} = vec4f(0.0);`);
  }
  L.push("  for (var s = s0; s < s1; s++) {");
  L.push("    let n = s / strips;");
  L.push(`    let oh0 = (s % strips) * ${TH}u;`);
  for (const line of rowSetup("", R, `i32(oh0 * ${S}u) - ${P}`, "p.H", "p.W", keep)) {
    L.push(`  ${line}`);
  }
  for (let q = 0; q < TH; q++) {
    L.push(`    let dok${q} = oh0 + ${q}u < p.OH;`);
    L.push(`    let db${q} = (n * p.OH + min(oh0 + ${q}u, p.OH - 1u)) * p.OW;`);
  }
  const rows = Array.from({ length: R }, (_, r) => r).filter(keep);
  const taps = Array.from({ length: K }, (_, a) => a).filter(keep);
  for (let j = 0; j < K; j++)
    for (const r of rows) {
      L.push(
        j < K - S
          ? `    ${loadInto(`c${j}_${r}`, true, "x", "", r, `${j - P}`, "p.W", pre)}`
          : `    var c${j}_${r} = vec4f(0.0);`,
      );
    }
  L.push("    for (var ow = 0u; ow < p.OW; ow++) {");
  L.push(`      let col = i32(ow * ${S}u) - ${P};`);
  for (let j = K - S; j < K; j++)
    for (const r of rows)
      L.push(`      ${loadInto(`c${j}_${r}`, false, "x", "", r, `col + ${j}`, "p.W", pre)}`);
  for (let q = 0; q < TH; q++) {
    L.push(`      let e${q} = select(vec4f(0.0), dy[(db${q} + ow) * p.CV + cv], dok${q});`);
    for (const a of taps)
      for (let b = 0; b < K; b++)
        L.push(`      g${a}_${b} = fma(c${b}_${q * S + a}, e${q}, g${a}_${b});`);
  }
  for (let j = 0; j < K - S; j++)
    for (const r of rows) L.push(`      c${j}_${r} = c${j + S}_${r};`);
  L.push("    }", "  }");
  L.push("  if (live) {");
  L.push(`    let o = g * ${K * K}u * p.CV + cv;`);
  for (const a of taps)
    for (let b = 0; b < K; b++) L.push(`    partial[o + ${a * K + b}u * p.CV] = g${a}_${b};`);
  L.push("  }", "}", "");
  return L.join("\n");
}
