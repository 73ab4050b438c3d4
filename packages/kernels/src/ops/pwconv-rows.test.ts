// The rows pointwise GEMM (pwconv-rows.ts) on every device, chosen
// explicitly: forward and input gradient against the float64 references,
// with and without the batch-norm prologue and the fused residual, on
// shapes with ragged column blocks, partial row blocks and several row
// blocks per invocation. Plus the selection rules and the refusals.
import { describe, expect, it } from "vitest";
import { bnApplyRef, bnTable, expectClose, randn, testGpu } from "../testing.ts";
import { pwconvBackwardInputRef, pwconvRef } from "../reference/pwconv.ts";
import { pwconvBackwardInputWith, pwconvForwardWith, selectPwconvVariant } from "./pwconv.ts";
import {
  ROWS_CONFIG,
  rowsBlockWidth,
  rowsCode,
  rowsEligible,
  rowsPerInvocation,
} from "./pwconv-rows.ts";

const gpu = await testGpu();
const TOL = { atol: 1e-4, rtol: 1e-4 };
const f32 = (a: Float64Array): Float64Array => Float64Array.from(Float32Array.from(a));

// M, K (the reduction), N (the output width), and what they exercise.
const CASES: readonly [number, number, number, string][] = [
  [1, 4, 4, "one row, one vec4"],
  [37, 16, 96, "the 16->96 block, one partial row block"],
  [1150, 32, 20, "K at the limit, ragged block (3 + 2 of 5 vec4 groups)"],
  [515, 8, 52, "13 vec4 groups: 6 + 6 + 1"],
  [301, 24, 28, "7 vec4 groups: 4 + 3"],
  [20000, 16, 96, "four row blocks of 64 rows per invocation, the last partial"],
];

describe("rows GEMM shape rules", () => {
  it("takes K and N multiples of 4 with K up to MAX_K only", () => {
    expect(rowsEligible(16, 96)).toBe(true);
    expect(rowsEligible(ROWS_CONFIG.MAX_K, 8)).toBe(true);
    expect(rowsEligible(ROWS_CONFIG.MAX_K + 4, 8)).toBe(false);
    expect(rowsEligible(6, 8)).toBe(false);
    expect(rowsEligible(8, 6)).toBe(false);
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

  it("is chosen on software adapters only, for narrow reductions", () => {
    expect(selectPwconvVariant("forward", 16, 96, true)).toBe("rows");
    expect(selectPwconvVariant("forward", 16, 96, false)).toBe("tiled");
    expect(selectPwconvVariant("forward", 144, 24, true)).toBe("tiled");
    expect(selectPwconvVariant("backward-input", 144, 24, true)).toBe("rows");
    expect(selectPwconvVariant("backward-input", 16, 96, true)).toBe("tiled");
    expect(selectPwconvVariant("backward-weight", 16, 96, true)).toBe("tiled");
    expect(selectPwconvVariant("forward", 6, 8, true)).toBe("tiled");
  });

  it("unrolls K and the block in the generated WGSL", () => {
    const code = rowsCode(8, 2, true, "bn6", true);
    expect(code).toContain("var wr: array<vec4f, 16>;");
    expect(code).toContain("w[(c * 4u + 3u) * 8u + k]");
    expect(code.match(/= fma\(vec4f\(xv\d\[\d\]\), wr\[\d+\]/g)).toHaveLength(16);
    expect(code).toContain("wr[15]");
    expect(code).toContain("clamp(");
    expect(code).toContain("r4[");
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

  it("refuses a reduction it cannot hold, naming the op", () => {
    const g = gpu!;
    const x = g.zeros([4, 36]);
    const w = g.zeros([36, 8]);
    const y = g.empty([4, 8]);
    expect(() => pwconvForwardWith(g, "rows", x, w, y, { M: 4, CI: 36, CO: 8 })).toThrow(
      /pwconv\.rows: .*K <= 32, got K 36 N 8/,
    );
    for (const t of [x, w, y]) t.dispose();
  });
});
