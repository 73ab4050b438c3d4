// A whole inverted-bottleneck block, forward and backward, on the GPU (the
// composition in bench/mbconv.ts, which mirrors the supernet) against a
// float64 composition of the references; and the composed reference against
// central finite differences on a tiny shape.

import { describe, expect, it } from "vitest";
import { Rng } from "../rng.ts";
import { dot, expectClose, finiteDiff, testGpu, type Tolerance } from "../testing.ts";
import type { Shape } from "../runtime/tensor.ts";
import { addRef } from "../reference/arith.ts";
import {
  batchNormBackwardRef,
  batchNormTrainRef,
  type BnRefParams,
} from "../reference/batchnorm.ts";
import {
  dwconvBackwardInputRef,
  dwconvBackwardWeightRef,
  dwconvOutSize,
  dwconvRef,
} from "../reference/dwconv.ts";
import { linearBackwardInputRef, linearBackwardParamsRef, linearRef } from "../reference/linear.ts";
import { globalAvgPoolBackwardRef, globalAvgPoolRef } from "../reference/pool.ts";
import { pwconvBackwardInputRef, pwconvBackwardWeightRef, pwconvRef } from "../reference/pwconv.ts";
import {
  channelScaleBackwardRef,
  channelScaleRef,
  reluBackwardRef,
  reluRef,
  sigmoidBackwardRef,
  sigmoidRef,
} from "../reference/se.ts";
import {
  MbconvBlock,
  mbconvLabel,
  mbconvOutShape,
  mbconvParamShapes,
  mbconvResidual,
  type MbconvSpec,
} from "../../bench/mbconv.ts";

type Values = Map<string, Float64Array>;

interface RefPass {
  readonly y: Float64Array;
  /** Running statistics after the pass, by "bn1.runningMean" etc. */
  readonly running: Values;
  back(dy: ArrayLike<number>): { dx: Float64Array; grads: Values };
}

function spec(
  N: number,
  H: number,
  W: number,
  Cin: number,
  E: number,
  Cout: number,
  K: number,
  S: number,
  R = 0,
): MbconvSpec {
  return { N, H, W, Cin, E, Cout, K, S, R, momentum: 0.1, eps: 1e-5 };
}

/** Parameter values, rounded to f32 so GPU and reference start equal. */
function initValues(s: MbconvSpec, seed: number): Values {
  const rng = new Rng(seed);
  const v: Values = new Map();
  for (const [name, shape] of mbconvParamShapes(s)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const fanIn = name === "dw" ? s.K * s.K : shape.length === 2 ? shape[0] : 1;
    // bn1's larger gamma pushes some values past 6, so both ReLU6 kinks occur.
    const [mean, std] = name.endsWith(".gamma")
      ? [name === "bn1.gamma" ? 2.5 : 1, 0.3]
      : name.endsWith(".beta") || name.startsWith("se.b")
        ? [0, 0.2]
        : [0, 1 / Math.sqrt(fanIn)];
    v.set(
      name,
      Float64Array.from(Float32Array.from({ length: n }, () => mean + std * rng.normal())),
    );
  }
  return v;
}

function randomF32(n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from(Float32Array.from({ length: n }, () => rng.normal()));
}

function bnRefParams(C: number, p: Values, bn: string): BnRefParams {
  return {
    gamma: p.get(`${bn}.gamma`)!,
    beta: p.get(`${bn}.beta`)!,
    runningMean: new Float64Array(C),
    runningVar: new Float64Array(C).fill(1),
  };
}

/** The block in float64, composed from the references. */
function blockRef(s: MbconvSpec, p: Values, x: Float64Array): RefPass {
  const { N, H, W, Cin, E, Cout, K, S, R, eps, momentum } = s;
  const OH = dwconvOutSize(H, K, S);
  const OW = dwconvOutSize(W, K, S);
  const M1 = N * H * W;
  const M2 = N * OH * OW;
  const dwGeom = { N, H, W, C: E, K, S };
  const pb = [bnRefParams(E, p, "bn1"), bnRefParams(E, p, "bn2"), bnRefParams(Cout, p, "bn3")];

  const h1 = pwconvRef(x, p.get("expand")!, M1, Cin, E);
  const bn1 = batchNormTrainRef(h1, M1, E, pb[0], { momentum, eps, relu6: true });
  const h2 = dwconvRef(dwGeom, bn1.y, p.get("dw")!);
  const bn2 = batchNormTrainRef(h2, M2, E, pb[1], { momentum, eps, relu6: true });

  // Squeeze-and-excitation: gate[n, c] = sigmoid(fc2(relu(fc1(mean of a2))))
  const pooled = R > 0 ? globalAvgPoolRef([N, OH, OW, E], bn2.y) : null;
  const z = pooled ? linearRef(pooled, p.get("se.w1")!, p.get("se.b1")!, N, E, R) : null;
  const zr = z ? reluRef(z) : null;
  const gate = zr ? sigmoidRef(linearRef(zr, p.get("se.w2")!, p.get("se.b2")!, N, R, E)) : null;
  const a2 = gate ? channelScaleRef(bn2.y, gate, N, OH * OW, E) : bn2.y;

  const h3 = pwconvRef(a2, p.get("project")!, M2, E, Cout);
  const bn3 = batchNormTrainRef(h3, M2, Cout, pb[2], { momentum, eps });
  const y = mbconvResidual(s) ? addRef(bn3.y, x) : bn3.y;
  const running: Values = new Map();
  [bn1, bn2, bn3].forEach((b, i) => {
    running.set(`bn${i + 1}.runningMean`, b.runningMean);
    running.set(`bn${i + 1}.runningVar`, b.runningVar);
  });

  const back = (dy: ArrayLike<number>): { dx: Float64Array; grads: Values } => {
    const grads: Values = new Map();
    const bnBack = (
      name: string,
      h: Float64Array,
      d: ArrayLike<number>,
      M: number,
      C: number,
      q: BnRefParams,
      relu6: boolean,
    ): Float64Array => {
      const r = batchNormBackwardRef(h, d, M, C, q, { eps, relu6 });
      grads.set(`${name}.gamma`, r.dgamma);
      grads.set(`${name}.beta`, r.dbeta);
      return r.dx;
    };
    const dh3 = bnBack("bn3", h3, dy, M2, Cout, pb[2], false);
    grads.set("project", pwconvBackwardWeightRef(a2, dh3, M2, E, Cout));
    let da2 = pwconvBackwardInputRef(dh3, p.get("project")!, M2, E, Cout);
    if (gate && zr && z && pooled) {
      const cs = channelScaleBackwardRef(bn2.y, gate, da2, N, OH * OW, E);
      const dg = sigmoidBackwardRef(gate, cs.ds);
      const l2 = linearBackwardParamsRef(zr, dg, N, R, E);
      grads.set("se.w2", l2.dw);
      grads.set("se.b2", l2.db);
      const dz = reluBackwardRef(z, linearBackwardInputRef(dg, p.get("se.w2")!, N, R, E));
      const l1 = linearBackwardParamsRef(pooled, dz, N, E, R);
      grads.set("se.w1", l1.dw);
      grads.set("se.b1", l1.db);
      const dp = linearBackwardInputRef(dz, p.get("se.w1")!, N, E, R);
      da2 = addRef(cs.dx, globalAvgPoolBackwardRef([N, OH, OW, E], dp));
    }
    const dh2 = bnBack("bn2", h2, da2, M2, E, pb[1], true);
    grads.set("dw", dwconvBackwardWeightRef(dwGeom, bn1.y, dh2));
    const da1 = dwconvBackwardInputRef(dwGeom, dh2, p.get("dw")!);
    const dh1 = bnBack("bn1", h1, da1, M1, E, pb[0], true);
    grads.set("expand", pwconvBackwardWeightRef(x, dh1, M1, Cin, E));
    const dxMain = pwconvBackwardInputRef(dh1, p.get("expand")!, M1, Cin, E);
    return { dx: mbconvResidual(s) ? addRef(dxMain, dy) : dxMain, grads };
  };
  return { y, running, back };
}

const gpu = await testGpu();

// f32 through three batch norms: BN backward divides by the batch std, so
// errors grow a little with depth; still far below any wiring mistake.
const TOL: Tolerance = { atol: 2e-4, rtol: 2e-3 };

const SHAPES: readonly MbconvSpec[] = [
  spec(2, 3, 3, 2, 4, 2, 3, 1, 2), // the finite-difference shape, with SE
  spec(1, 7, 5, 3, 9, 3, 3, 1), // N1, odd H and W, C not a multiple of 4
  spec(2, 9, 7, 4, 12, 8, 5, 2), // stride 2, vec4 channels, rows not a tile multiple
  spec(2, 6, 6, 8, 24, 8, 7, 1, 6), // K7, residual, SE
  spec(3, 5, 5, 5, 15, 6, 3, 2, 4), // stride 2 with SE, odd channels
  spec(1, 11, 9, 6, 18, 6, 5, 1), // K5 residual, H and W larger than a tile
  spec(2, 8, 8, 8, 48, 12, 7, 2), // K7 stride 2
];

describe.runIf(gpu)("mbconv block on the GPU vs the composed float64 reference", () => {
  for (const s of SHAPES) {
    it(`mbconv block forward+backward ${mbconvLabel(s)}${mbconvResidual(s) ? " residual" : ""}`, async () => {
      const g = gpu!;
      const seed = s.N * 1000 + s.H * 100 + s.E * 10 + s.K;
      const p = initValues(s, seed);
      const x = randomF32(s.N * s.H * s.W * s.Cin, seed + 1);
      const outShape = mbconvOutShape(s);
      const r = randomF32(
        outShape.reduce((a, b) => a * b, 1),
        seed + 2,
      );
      const ref = blockRef(s, p, x);
      const refBack = ref.back(r);

      const block = new MbconvBlock(g, s, (name) => p.get(name)!);
      // Garbage in the gradients: accumulate = false must overwrite it.
      for (const t of block.g.values()) g.write(t, new Float32Array(t.size).fill(7));
      const xt = g.tensor([s.N, s.H, s.W, s.Cin], x, "block.x");
      const dy = g.tensor(outShape, r, "block.dy");
      const pass = block.forward(xt, true);
      const dx = pass.backward!(dy);

      expectClose(`y ${mbconvLabel(s)}`, await g.read(pass.y), ref.y, TOL);
      expectClose(`dx ${mbconvLabel(s)}`, await g.read(dx), refBack.dx, TOL);
      for (const [name] of mbconvParamShapes(s)) {
        expectClose(
          `d${name} ${mbconvLabel(s)}`,
          await g.read(block.g.get(name)!),
          refBack.grads.get(name)!,
          TOL,
        );
      }
      for (const [name, v] of ref.running) {
        expectClose(`${name} ${mbconvLabel(s)}`, await g.read(block.w.get(name)!), v, TOL);
      }
      for (const t of [xt, dy, pass.y, dx]) t.dispose();
      block.dispose();
    });
  }

  it("mbconv block accumulate adds a second pass's gradients N2 H5 W5 4->8->k3s1->4", async () => {
    const g = gpu!;
    const s = spec(2, 5, 5, 4, 8, 4, 3, 1);
    const p = initValues(s, 5);
    const x = randomF32(s.N * s.H * s.W * s.Cin, 6);
    const r = randomF32(x.length, 7);
    const refBack = blockRef(s, p, x).back(r);
    const block = new MbconvBlock(g, s, (name) => p.get(name)!);
    const xt = g.tensor([s.N, s.H, s.W, s.Cin], x);
    const dy = g.tensor(mbconvOutShape(s), r);
    for (const acc of [false, true]) {
      block.accumulate = acc;
      const pass = block.forward(xt, true);
      const dx = pass.backward!(dy);
      pass.y.dispose();
      dx.dispose();
    }
    for (const name of ["expand", "dw", "project", "bn1.gamma", "bn3.beta"]) {
      expectClose(
        `2x d${name}`,
        await g.read(block.g.get(name)!),
        refBack.grads.get(name)!.map((v) => 2 * v),
        TOL,
      );
    }
    xt.dispose();
    dy.dispose();
    block.dispose();
  });
});

describe("mbconv block reference", () => {
  it("composed backward matches central differences N2 H3 W3 2->4->k3s1->2 se2 residual", () => {
    const s = SHAPES[0];
    const p = initValues(s, 11);
    const x = randomF32(s.N * s.H * s.W * s.Cin, 12);
    const r = randomF32(x.length, 13);
    const { dx, grads } = blockRef(s, p, x).back(r);
    const tol = { atol: 1e-6, rtol: 1e-4 };
    const loss = (): number => dot(blockRef(s, p, x).y, r);
    expectClose(
      "fd dx",
      dx,
      finiteDiff(() => loss(), x),
      tol,
    );
    for (const [name, shape] of mbconvParamShapes(s)) {
      const v = p.get(name)!;
      expect(v.length).toBe((shape as Shape).reduce((a, b) => a * b, 1));
      expectClose(
        `fd d${name}`,
        grads.get(name)!,
        finiteDiff(() => loss(), v),
        tol,
      );
    }
  });

  it("the residual applies only when S1 and Cin == Cout", () => {
    expect(mbconvResidual(spec(1, 4, 4, 8, 16, 8, 3, 1))).toBe(true);
    expect(mbconvResidual(spec(1, 4, 4, 8, 16, 8, 3, 2))).toBe(false);
    expect(mbconvResidual(spec(1, 4, 4, 8, 16, 12, 3, 1))).toBe(false);
  });
});
