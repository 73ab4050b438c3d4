// The rows pointwise GEMM (pwconv-rows.ts) on every device, chosen
// explicitly: forward and input gradient against the float64 references,
// with and without the batch-norm prologue and the fused residual, on
// shapes with ragged column blocks, partial row blocks and several row
// blocks per invocation. Plus the selection rules and the refusals.
import { describe, expect, it } from "vitest";
import { bnApplyRef, bnTable, expectClose, randn, testGpu } from "../testing.ts";
import { pwconvBackwardInputRef, pwconvBackwardWeightRef, pwconvRef } from "../reference/pwconv.ts";
import {
  pwconv,
  pwconvBackwardInput,
  pwconvBackwardInputWith,
  pwconvBackwardWeight,
  pwconvBackwardWeightWith,
  pwconvForwardWith,
  selectPwconvVariant,
} from "./pwconv.ts";
import {
  ROWS_CONFIG,
  ROWS_WEIGHT_CONFIG,
  rowsBlockWidth,
  rowsChunk,
  rowsCode,
  rowsEligible,
  rowsPays,
  rowsPerInvocation,
  rowsWeightCode,
  rowsWeightEligible,
  rowsWeightPlan,
} from "./pwconv-rows.ts";

const gpu = await testGpu();
const TOL = { atol: 1e-4, rtol: 1e-4 };
const f32 = (a: Float64Array): Float64Array => Float64Array.from(Float32Array.from(a));

// M, K (the reduction), N (the output width), and what they exercise.
const CASES: readonly [number, number, number, string][] = [
  [1, 4, 4, "one row, one vec4"],
  [37, 16, 96, "the 16->96 block, two row blocks of 8 lanes x 4 rows, the second partial"],
  [1150, 32, 20, "K at the limit, ragged block (3 + 2 of 5 vec4 groups)"],
  [515, 8, 52, "13 vec4 groups: 6 + 6 + 1"],
  [301, 24, 28, "7 vec4 groups: 4 + 3"],
  [20000, 16, 96, "40 row blocks of 8 lanes x 64 rows, the last partial"],
  [45, 96, 16, "four chunks of 24, one partial row block"],
  [4200, 144, 24, "six chunks, 9 row blocks (the last partial), 2 column blocks"],
  [300, 44, 20, "eleven chunks of 4, ragged block (4 + 1 of 5 vec4 groups)"],
];

describe("rows GEMM shape rules", () => {
  it("takes K and N positive multiples of 4", () => {
    expect(rowsEligible(16, 96)).toBe(true);
    expect(rowsEligible(ROWS_CONFIG.MAX_K, 8)).toBe(true);
    expect(rowsEligible(ROWS_CONFIG.MAX_K + 4, 8)).toBe(true);
    expect(rowsEligible(1152, 192)).toBe(true);
    expect(rowsEligible(6, 8)).toBe(false);
    expect(rowsEligible(8, 6)).toBe(false);
    expect(rowsEligible(0, 8)).toBe(false);
  });

  it("walks a reduction over MAX_K in the widest dividing chunk up to MAX_CHUNK", () => {
    expect(rowsChunk(ROWS_CONFIG.MAX_K)).toBe(ROWS_CONFIG.MAX_K);
    expect(rowsChunk(16)).toBe(16);
    expect(rowsChunk(96)).toBe(24);
    expect(rowsChunk(144)).toBe(24);
    expect(rowsChunk(40)).toBe(20);
    expect(rowsChunk(36)).toBe(12);
    expect(rowsChunk(44)).toBe(4); // 11 vec4 groups: only 4 divides
    for (const K of [36, 40, 44, 48, 56, 96, 100, 144, 1152]) {
      const kc = rowsChunk(K);
      expect(K % kc).toBe(0);
      expect(kc % 4).toBe(0);
      expect(kc).toBeLessThanOrEqual(ROWS_CONFIG.MAX_CHUNK);
    }
    // The block is sized by the chunk, not the whole reduction.
    expect(rowsBlockWidth(96, 16)).toBe(4);
    expect(rowsBlockWidth(144, 24)).toBe(3);
  });

  it("pays for a reduction of at most MAX_CHUNKS chunks", () => {
    expect(rowsPays(16, 96)).toBe(true); // one chunk
    expect(rowsPays(32, 192)).toBe(true);
    expect(rowsPays(96, 16)).toBe(true); // 4 chunks
    expect(rowsPays(144, 24)).toBe(true); // 6
    expect(rowsPays(192, 32)).toBe(true); // 8
    expect(rowsPays(216, 32)).toBe(false); // 9
    expect(rowsPays(576, 96)).toBe(false); // 24
    expect(rowsPays(1152, 192)).toBe(false);
    expect(rowsPays(98, 16)).toBe(false); // off the vec4 grid
  });

  it("picks block widths within the register budget, preferring divisors", () => {
    expect(rowsBlockWidth(16, 96)).toBe(6);
    expect(rowsBlockWidth(24, 144)).toBe(4);
    expect(rowsBlockWidth(32, 96)).toBe(3);
    expect(rowsBlockWidth(32, 20)).toBe(3); // 5 groups: no divisor in 2..3
    expect(rowsBlockWidth(16, 40)).toBe(5);
    expect(rowsBlockWidth(4, 4)).toBe(1);
    for (const [K, N] of [
      [4, 400],
      [12, 48],
      [28, 100],
    ]) {
      expect(4 * K * rowsBlockWidth(K, N)).toBeLessThanOrEqual(ROWS_CONFIG.W_FLOATS);
    }
  });

  it("shortens the row loop until there are enough workgroups", () => {
    const { WG, MAX_RB, MIN_RB, MIN_GROUPS } = ROWS_CONFIG;
    expect(rowsPerInvocation(50176, 4)).toBe(MAX_RB);
    expect(rowsPerInvocation(1, 1)).toBe(MIN_RB);
    const rb = rowsPerInvocation(6272, 2);
    expect(2 * Math.ceil(6272 / (WG * rb))).toBeGreaterThanOrEqual(MIN_GROUPS);
    expect(2 * Math.ceil(6272 / (WG * rb * 2))).toBeLessThan(MIN_GROUPS);
  });

  it("is chosen on software adapters only, for reductions in few chunks", () => {
    expect(selectPwconvVariant("forward", 16, 96, true)).toBe("rows");
    expect(selectPwconvVariant("forward", 16, 96, false)).toBe("tiled");
    expect(selectPwconvVariant("forward", 144, 24, true)).toBe("rows");
    expect(selectPwconvVariant("forward", 144, 24, false)).toBe("tiled");
    expect(selectPwconvVariant("forward", 576, 96, true)).toBe("tiled");
    expect(selectPwconvVariant("backward-input", 144, 24, true)).toBe("rows");
    expect(selectPwconvVariant("backward-input", 16, 96, true)).toBe("rows");
    expect(selectPwconvVariant("backward-input", 96, 576, true)).toBe("tiled");
    expect(selectPwconvVariant("backward-weight", 144, 24, true)).toBe("rows");
    expect(selectPwconvVariant("backward-weight", 16, 96, true)).toBe("rows");
    expect(selectPwconvVariant("backward-weight", 16, 96, false)).toBe("tiled");
    expect(selectPwconvVariant("forward", 6, 8, true)).toBe("tiled");
    expect(selectPwconvVariant("backward-weight", 6, 8, true)).toBe("naive");
  });

  it("unrolls K and the block in the generated WGSL", () => {
    const code = rowsCode(8, 2, true, "bn6", true);
    expect(code).toContain("var wr: array<vec4f, 16>;");
    expect(code).toContain("w[(c * 4u + 3u) * 8u + k]");
    expect(code.match(/= fma\(vec4f\(xv\d\[\d\]\), wr\[\d+\]/g)).toHaveLength(16);
    expect(code).toContain("wr[15]");
    expect(code).toContain("clamp(");
    expect(code).toContain("r4[");
    expect(code).not.toContain("k0 += ");
  });

  it("loops over the chunks of a wide reduction, adding to its own partial sums", () => {
    const code = rowsCode(48, 3, false, "bn", true);
    expect(code).toContain("var wr: array<vec4f, 72>;");
    expect(code).toContain("for (var k0 = 0u; k0 < 48u; k0 += 24u) {");
    expect(code.match(/= fma\(vec4f\(xv\d\[\d\]\), wr\[\d+\]/g)).toHaveLength(72);
    expect(code).toContain("if (k0 > 0u) {");
    expect(code).toContain("coef4[k0 / 4u + 12u]"); // the chunk's first scale
    expect(code).toContain("let xr = mc * 12u + k0 / 4u;");
  });
});

describe("rows weight gradient shape rules", () => {
  it("tiles up to 16 x 16 channels, narrowed to divisors", () => {
    expect(rowsWeightPlan(50176, 16, 96)).toMatchObject({ CB4: 4, TC4: 4, tiles: 6 });
    expect(rowsWeightPlan(50176, 24, 144)).toMatchObject({ CB4: 3, TC4: 4, tiles: 18 });
    expect(rowsWeightPlan(50176, 144, 24)).toMatchObject({ CB4: 4, TC4: 3, tiles: 18 });
    expect(rowsWeightPlan(100, 20, 52)).toMatchObject({ CB4: 4, TC4: 4, tiles: 8 });
    expect(rowsWeightPlan(1, 4, 4)).toMatchObject({ CB4: 1, TC4: 1, tiles: 1, blocks: 1 });
  });

  it("splits the rows into blocks that cover M", () => {
    const { WG, MIN_GROUPS, MIN_ROWS } = ROWS_WEIGHT_CONFIG;
    for (const [M, CI, CO] of [
      [50176, 16, 96],
      [20000, 16, 96],
      [6272, 48, 96],
      [7, 8, 8],
    ]) {
      const p = rowsWeightPlan(M, CI, CO);
      expect(p.slices).toBe(p.blocks * WG);
      expect(p.blocks * WG * p.rows).toBeGreaterThanOrEqual(M);
      expect((p.blocks - 1) * WG * p.rows).toBeLessThan(M);
      expect(p.blocks === 1 || M / p.slices >= MIN_ROWS).toBe(true);
      // More blocks only while the tiles alone leave fewer than MIN_GROUPS workgroups.
      expect(p.blocks === 1 || p.tiles * (p.blocks - 1) < MIN_GROUPS).toBe(true);
    }
    expect(rowsWeightPlan(50176, 16, 96).blocks).toBe(3);
    expect(rowsWeightPlan(50176, 144, 24).blocks).toBe(1);
  });

  it("takes vec4 channels with bounded partials", () => {
    expect(rowsWeightEligible(16, 96)).toBe(true);
    expect(rowsWeightEligible(18, 96)).toBe(false);
    expect(rowsWeightEligible(16, 6)).toBe(false);
    const big = Math.sqrt(ROWS_WEIGHT_CONFIG.MAX_PARTIAL_FLOATS / ROWS_WEIGHT_CONFIG.WG) + 4;
    expect(rowsWeightEligible(big, big)).toBe(false);
  });

  it("unrolls the tile and applies the prologue to x", () => {
    const code = rowsWeightCode(3, 2, "bn6");
    expect(code.match(/= fma\(vec4f\(xv\d\[\d\]\), d\d, a\d+_\d\);/g)).toHaveLength(24);
    expect(code).toContain("let pm2 = coef4[xi2];");
    expect(code).toContain("clamp(");
    expect(rowsWeightCode(1, 1, "none")).not.toContain("coef4");
  });
});

// M, Ci, Co, and what they exercise.
const WEIGHT_CASES: readonly [number, number, number, string][] = [
  [1, 4, 4, "one row, one vec4 each side"],
  [37, 16, 96, "the 16->96 block, fewer rows than lanes"],
  [515, 20, 52, "ragged tiles: 4 + 1 input and 4 + 4 + 4 + 1 output groups"],
  [1150, 24, 144, "3 x 4 tiles (the 24->144 expand)"],
  [3001, 144, 24, "4 x 3 tiles (the 144->24 project)"],
  [20000, 16, 96, "three blocks of lanes, the last partial"],
];

describe.runIf(gpu)("rows weight gradient on the GPU", () => {
  for (const [M, CI, CO, what] of WEIGHT_CASES) {
    for (const pre of ["none", "bn", "bn6"] as const) {
      const tag = `rows dw M${M} Ci${CI} Co${CO} pre=${pre} (${what})`;
      it(`${tag}: written and accumulated`, async () => {
        const g = gpu!;
        const xs = f32(randn(M * CI, M + CI, 3));
        const dys = f32(randn(M * CO, M + CO + 1));
        const dw0 = f32(randn(CI * CO, 7));
        const coef = bnTable(CI, CI + CO);
        const x = g.tensor([M, CI], xs);
        const dy = g.tensor([M, CO], dys);
        const cf = g.tensor([3, CI], coef);
        const prologue = pre === "none" ? undefined : { coef: cf, relu6: pre === "bn6" };
        const dw = g.empty([CI, CO]);
        const dwAcc = g.tensor([CI, CO], dw0);
        const gm = { M, CI, CO };
        pwconvBackwardWeightWith(g, "rows", x, dy, dw, false, gm, prologue);
        pwconvBackwardWeightWith(g, "rows", x, dy, dwAcc, true, gm, prologue);
        const a = pre === "none" ? xs : bnApplyRef(xs, coef, CI, pre === "bn6");
        const ref = pwconvBackwardWeightRef(a, dys, M, CI, CO);
        // Sums over up to 20000 rows of products of unit normals.
        const tol = { atol: 1e-4 * Math.sqrt(M), rtol: 1e-4 };
        expectClose(`${tag} dw`, await g.read(dw), ref, tol);
        const acc = ref.map((v, i) => v + dw0[i]);
        expectClose(`${tag} dw accumulate`, await g.read(dwAcc), acc, tol);
        for (const t of [x, dy, cf, dw, dwAcc]) t.dispose();
      });
    }
  }

  it("takes the public weight gradient (software), accumulating", async () => {
    const g = gpu!;
    const [M, CI, CO] = [2000, 32, 8];
    expect(selectPwconvVariant("backward-weight", CI, CO, g.adapter.software)).toBe(
      g.adapter.software ? "rows" : "tiled",
    );
    const xs = f32(randn(M * CI, 5));
    const dys = f32(randn(M * CO, 6));
    const x = g.tensor([20, 10, 10, CI], xs);
    const dy = g.tensor([20, 10, 10, CO], dys);
    const dw = g.zeros([CI, CO]);
    pwconvBackwardWeight(g, x, dy, dw, true);
    const ref = pwconvBackwardWeightRef(xs, dys, M, CI, CO);
    expectClose("public dw", await g.read(dw), ref, { atol: 1e-4 * Math.sqrt(M), rtol: 1e-4 });
    for (const t of [x, dy, dw]) t.dispose();
  });

  it("is bit-for-bit repeatable and refuses channels off the vec4 grid", async () => {
    const g = gpu!;
    const [M, CI, CO] = [5000, 16, 24];
    const x = g.tensor([M, CI], randn(M * CI, 3));
    const dy = g.tensor([M, CO], randn(M * CO, 4));
    const a = g.empty([CI, CO]);
    const b = g.empty([CI, CO]);
    pwconvBackwardWeightWith(g, "rows", x, dy, a, false, { M, CI, CO });
    pwconvBackwardWeightWith(g, "rows", x, dy, b, false, { M, CI, CO });
    expect(Array.from(await g.read(a))).toEqual(Array.from(await g.read(b)));
    const x6 = g.zeros([4, 6]);
    const d6 = g.zeros([4, 8]);
    const w6 = g.empty([6, 8]);
    expect(() =>
      pwconvBackwardWeightWith(g, "rows", x6, d6, w6, false, { M: 4, CI: 6, CO: 8 }),
    ).toThrow(/pwconv\.backward-weight\.rows: .*got Ci 6, Co 8/);
    for (const t of [x, dy, a, b, x6, d6, w6]) t.dispose();
  });
});

describe.runIf(gpu)("rows GEMM on the GPU", () => {
  for (const [M, K, N, what] of CASES) {
    for (const pre of ["none", "bn", "bn6"] as const) {
      const tag = `rows M${M} K${K} N${N} pre=${pre} (${what})`;
      it(`${tag}: forward and input gradient, plain and with a residual`, async () => {
        const g = gpu!;
        // Forward: y[M, N] = pre(x) w, w [K, N].
        const xs = f32(randn(M * K, M + K, 3));
        const ws = f32(randn(K * N, K + N, 0.5));
        const rs = f32(randn(M * N, M + N + 2));
        const coef = bnTable(K, K + N);
        const x = g.tensor([M, K], xs);
        const w = g.tensor([K, N], ws);
        const r = g.tensor([M, N], rs);
        const cf = g.tensor([3, K], coef);
        const prologue = pre === "none" ? undefined : { coef: cf, relu6: pre === "bn6" };
        const y = g.empty([M, N]);
        const yr = g.empty([M, N]);
        const gm = { M, CI: K, CO: N };
        pwconvForwardWith(g, "rows", x, w, y, gm, { pre: prologue });
        pwconvForwardWith(g, "rows", x, w, yr, gm, { pre: prologue, residual: r });
        const a = pre === "none" ? xs : bnApplyRef(xs, coef, K, pre === "bn6");
        const ref = pwconvRef(a, ws, M, K, N);
        expectClose(`${tag} y`, await g.read(y), ref, TOL);
        expectClose(
          `${tag} y + r`,
          await g.read(yr),
          ref.map((v, i) => v + rs[i]),
          TOL,
        );

        // Input gradient of a layer with Ci = N, Co = K: dx[M, N] = dy w'^T,
        // w' [N, K] (the reduction is Co). No prologue on this pass.
        if (pre === "none") {
          const wt = g.tensor([N, K], ws);
          const dx = g.empty([M, N]);
          const dxr = g.empty([M, N]);
          const gb = { M, CI: N, CO: K };
          pwconvBackwardInputWith(g, "rows", x, wt, dx, gb);
          pwconvBackwardInputWith(g, "rows", x, wt, dxr, gb, r);
          const dref = pwconvBackwardInputRef(xs, ws, M, N, K);
          expectClose(`${tag} dx`, await g.read(dx), dref, TOL);
          expectClose(
            `${tag} dx + r`,
            await g.read(dxr),
            dref.map((v, i) => v + rs[i]),
            TOL,
          );
          for (const t of [wt, dx, dxr]) t.dispose();
        }
        for (const t of [x, w, r, cf, y, yr]) t.dispose();
      });
    }
  }

  it("takes the public forward and input gradient of a chunked reduction (software)", async () => {
    const g = gpu!;
    const [M, K, N] = [3000, 48, 8];
    const picked = g.adapter.software ? "rows" : "tiled";
    expect(selectPwconvVariant("forward", K, N, g.adapter.software)).toBe(picked);
    expect(selectPwconvVariant("backward-input", N, K, g.adapter.software)).toBe(picked);
    const xs = f32(randn(M * K, 11));
    const ws = f32(randn(K * N, 12, 0.3));
    const rs = f32(randn(M * N, 13));
    const coef = bnTable(K, 14);
    const x = g.tensor([30, 10, 10, K], xs);
    const w = g.tensor([K, N], ws);
    const wt = g.tensor([N, K], ws); // a layer N -> K: its dx is [M, N]
    const r = g.tensor([30, 10, 10, N], rs);
    const cf = g.tensor([3, K], coef);
    const y = pwconv(g, x, w, undefined, { coef: cf, relu6: true });
    const ref = pwconvRef(bnApplyRef(xs, coef, K, true), ws, M, K, N);
    expectClose("public y", await g.read(y), ref, TOL);
    const dx = pwconvBackwardInput(g, x, wt, undefined, r);
    const dref = pwconvBackwardInputRef(xs, ws, M, N, K).map((v, i) => v + rs[i]);
    expectClose("public dx + r", await g.read(dx), dref, TOL);
    for (const t of [x, w, wt, r, cf, y, dx]) t.dispose();
  });

  it("refuses channels off the vec4 grid, naming the op", () => {
    const g = gpu!;
    const x = g.zeros([4, 38]);
    const w = g.zeros([38, 8]);
    const y = g.empty([4, 8]);
    expect(() => pwconvForwardWith(g, "rows", x, w, y, { M: 4, CI: 38, CO: 8 })).toThrow(
      /pwconv\.rows: .*multiples of 4, got K 38 N 8/,
    );
    for (const t of [x, w, y]) t.dispose();
  });
});
