// A small mutation policy trained with PPO, in plain float64 TypeScript.
//
// State: the parent architecture, one-hot per layer ([L * m] inputs).
// Action: per layer, a categorical over m + 1 slots: slot 0 keeps the
// parent's choice, slot 1 + c sets the layer to choice c. The log-prob of
// an action is the sum of the per-layer log-probs.
// Network: x -> tanh(W1 x + b1) -> { logits [L, m + 1], value (scalar) }.
// Episodes are one step long (propose one child, get one reward), so the
// return is the reward and the advantage is reward - value(state).

import { Rng } from "@fairnas/kernels";

export interface PpoConfig {
  readonly layers: number;
  readonly numChoices: number;
  readonly seed: number;
  /** Hidden width. */
  readonly hidden?: number;
  /** Adam step size. */
  readonly lr?: number;
  /** Surrogate clip: ratios outside [1 - clip, 1 + clip] stop the gradient. */
  readonly clip?: number;
  readonly valueCoef?: number;
  /** Weight of the mean per-layer entropy bonus. */
  readonly entropyCoef?: number;
  /** Passes over the batch per update. */
  readonly epochs?: number;
  readonly minibatch?: number;
  /**
   * Initial bias of the keep slot. Default log(m (L - 1)): each layer then
   * changes with probability about 1/L, like the random mutation.
   */
  readonly keepBias?: number;
}

export interface PpoSample {
  readonly state: readonly number[];
  readonly action: readonly number[];
  /** Log-prob of `action` under the policy that proposed it. */
  readonly logProb: number;
  readonly reward: number;
}

export interface PpoAct {
  readonly action: number[];
  readonly logProb: number;
  readonly value: number;
  /** The parent with the action applied. */
  readonly child: number[];
}

export interface PpoStats {
  /** Mean total loss over the last epoch's minibatches. */
  readonly loss: number;
  readonly policyLoss: number;
  readonly valueLoss: number;
  /** Mean per-layer entropy (nats) over the batch, before the update. */
  readonly entropy: number;
  readonly meanReward: number;
  readonly samples: number;
}

interface Forward {
  readonly hot: number[]; // indices of the ones in x: [L]
  readonly h: Float64Array; // [H]
  readonly probs: Float64Array; // [L, m + 1]
  readonly value: number;
}

/** Applies a policy action to a parent (slot 0 keeps, slot 1 + c sets c). */
export function applyAction(parent: readonly number[], action: readonly number[]): number[] {
  return parent.map((c, l) => (action[l] === 0 ? c : action[l] - 1));
}

export class PpoPolicy {
  readonly L: number;
  readonly m: number;
  readonly H: number;
  private readonly cfg: Required<PpoConfig>;
  // Parameters and their Adam moments, one flat array each.
  private readonly w1: Float64Array; // [H, L * m]
  private readonly b1: Float64Array; // [H]
  private readonly wp: Float64Array; // [L * (m + 1), H]
  private readonly bp: Float64Array; // [L * (m + 1)]
  private readonly wv: Float64Array; // [H]
  private readonly bv: Float64Array; // [1]
  private readonly adam: { m: Float64Array; v: Float64Array }[];
  private steps = 0;
  private updates = 0;

  constructor(config: PpoConfig) {
    const { layers: L, numChoices: m } = config;
    if (L < 1 || m < 1) throw new Error(`PpoPolicy: need L >= 1 and m >= 1, got L ${L} m ${m}`);
    this.cfg = {
      hidden: 32,
      lr: 3e-3,
      clip: 0.2,
      valueCoef: 0.5,
      entropyCoef: 0.01,
      epochs: 4,
      minibatch: 32,
      keepBias: L > 1 ? Math.log(m * (L - 1)) : 0,
      ...config,
    };
    this.L = L;
    this.m = m;
    this.H = this.cfg.hidden;

    // Init: W1 ~ N(0, 1/L) (L inputs are hot), heads small so the policy
    // starts near its keep-biased prior.
    const rng = Rng.derive(config.seed, 0x9901);
    const O = L * (m + 1);
    this.w1 = gaussian(rng, this.H * L * m, 1 / Math.sqrt(L));
    this.b1 = new Float64Array(this.H);
    this.wp = gaussian(rng, O * this.H, 0.01);
    this.bp = new Float64Array(O);
    for (let l = 0; l < L; l++) this.bp[l * (m + 1)] = this.cfg.keepBias;
    this.wv = gaussian(rng, this.H, 0.01);
    this.bv = new Float64Array(1);
    this.adam = this.params().map((p) => ({
      m: new Float64Array(p.length),
      v: new Float64Array(p.length),
    }));
  }

  private params(): Float64Array[] {
    return [this.w1, this.b1, this.wp, this.bp, this.wv, this.bv];
  }

  private forward(arch: readonly number[]): Forward {
    const { L, m, H } = this;
    if (arch.length !== L) {
      throw new Error(`PpoPolicy: arch has ${arch.length} layers, policy has ${L}`);
    }
    const hot = arch.map((c, l) => l * m + c);
    const h = new Float64Array(H);
    for (let j = 0; j < H; j++) {
      let s = this.b1[j];
      for (const i of hot) s += this.w1[j * L * m + i];
      h[j] = Math.tanh(s);
    }

    // Logits, then a softmax per layer over its m + 1 slots.
    const O = L * (m + 1);
    const probs = new Float64Array(O);
    for (let o = 0; o < O; o++) {
      let s = this.bp[o];
      for (let j = 0; j < H; j++) s += this.wp[o * H + j] * h[j];
      probs[o] = s;
    }
    for (let l = 0; l < L; l++) softmaxInPlace(probs, l * (m + 1), m + 1);

    let value = this.bv[0];
    for (let j = 0; j < H; j++) value += this.wv[j] * h[j];
    return { hot, h, probs, value };
  }

  /** Per layer, the probabilities of [keep, choice 0, ..., choice m-1]. */
  distribution(arch: readonly number[]): number[][] {
    const { probs } = this.forward(arch);
    const s = this.m + 1;
    return Array.from({ length: this.L }, (_, l) => [...probs.subarray(l * s, (l + 1) * s)]);
  }

  value(arch: readonly number[]): number {
    return this.forward(arch).value;
  }

  /** Samples an action for `parent` from the current policy. */
  act(rng: Rng, parent: readonly number[]): PpoAct {
    const f = this.forward(parent);
    const s = this.m + 1;
    const action: number[] = [];
    let logProb = 0;
    for (let l = 0; l < this.L; l++) {
      const a = sampleCategorical(rng, f.probs, l * s, s);
      action.push(a);
      logProb += Math.log(f.probs[l * s + a]);
    }
    return { action, logProb, value: f.value, child: applyAction(parent, action) };
  }

  /**
   * One PPO update on a batch of one-step samples: `epochs` shuffled
   * passes, Adam step per minibatch. Advantages use the value head as it
   * stands when the update starts (not normalized).
   */
  update(samples: readonly PpoSample[]): PpoStats {
    const n = samples.length;
    const rng = Rng.derive(this.cfg.seed, 0x9902, this.updates++);
    const start = samples.map((s) => this.forward(s.state));
    const adv = samples.map((s, k) => s.reward - start[k].value);
    const entropy = n === 0 ? 0 : mean(start.map((f) => this.meanEntropy(f.probs)));
    const meanReward = n === 0 ? 0 : mean(samples.map((s) => s.reward));

    let last = { loss: 0, policyLoss: 0, valueLoss: 0 };
    for (let e = 0; e < this.cfg.epochs && n > 0; e++) {
      const order = rng.permutation(n);
      const sums = { loss: 0, policyLoss: 0, valueLoss: 0, batches: 0 };
      for (let b = 0; b < n; b += this.cfg.minibatch) {
        const idx = order.slice(b, b + this.cfg.minibatch);
        const r = this.step(
          idx.map((k) => samples[k]),
          idx.map((k) => adv[k]),
        );
        sums.loss += r.loss;
        sums.policyLoss += r.policyLoss;
        sums.valueLoss += r.valueLoss;
        sums.batches++;
      }
      last = {
        loss: sums.loss / sums.batches,
        policyLoss: sums.policyLoss / sums.batches,
        valueLoss: sums.valueLoss / sums.batches,
      };
    }
    return { ...last, entropy, meanReward, samples: n };
  }

  private meanEntropy(probs: Float64Array): number {
    return layerEntropy(probs, 0, probs.length) / this.L;
  }

  /**
   * Loss on one minibatch, averaged over its samples:
   *   -min(r A, clip(r) A) + valueCoef (V - R)^2 - entropyCoef * meanEntropy
   * then one Adam step. Returns the loss terms before the step.
   */
  private step(
    batch: readonly PpoSample[],
    adv: readonly number[],
  ): {
    loss: number;
    policyLoss: number;
    valueLoss: number;
  } {
    const { grads, ...terms } = this.lossAndGrad(batch, adv);
    this.adamStep(grads);
    return terms;
  }

  /** The live parameter arrays, in a fixed order (for the gradient test). */
  parameters(): readonly Float64Array[] {
    return this.params();
  }

  /**
   * Minibatch loss and its gradient for each array of `parameters()`,
   * without stepping. `adv` holds one advantage per sample.
   */
  lossAndGrad(
    batch: readonly PpoSample[],
    adv: readonly number[],
  ): {
    loss: number;
    policyLoss: number;
    valueLoss: number;
    grads: Float64Array[];
  } {
    const { L, m } = this;
    const s = m + 1;
    const { clip, valueCoef, entropyCoef } = this.cfg;
    const grads = this.params().map((p) => new Float64Array(p.length));
    const [gw1, gb1, gwp, gbp, gwv, gbv] = grads;
    const scale = 1 / batch.length;
    let policyLoss = 0;
    let valueLoss = 0;
    let entropyTerm = 0;

    batch.forEach((sample, k) => {
      const f = this.forward(sample.state);
      const A = adv[k];

      // Surrogate: the gradient flows only through the unclipped branch.
      let logProb = 0;
      for (let l = 0; l < L; l++) logProb += Math.log(f.probs[l * s + sample.action[l]]);
      const ratio = Math.exp(logProb - sample.logProb);
      const clipped = Math.min(Math.max(ratio, 1 - clip), 1 + clip);
      policyLoss -= Math.min(ratio * A, clipped * A) * scale;
      const active = ratio * A <= clipped * A;
      const dLogProb = active ? -A * ratio * scale : 0;

      const { dz, entropy } = this.logitGrad(
        f.probs,
        sample.action,
        dLogProb,
        (entropyCoef / L) * scale,
      );
      entropyTerm += entropy * scale;

      const diff = f.value - sample.reward;
      valueLoss += diff * diff * scale;
      const dv = 2 * valueCoef * diff * scale;
      this.backward(f, dz, dv, { gw1, gb1, gwp, gbp, gwv, gbv });
    });

    const loss = policyLoss + valueCoef * valueLoss - entropyCoef * entropyTerm;
    return { loss, policyLoss, valueLoss, grads };
  }

  /**
   * d(loss)/d(logits) ([L, m + 1]) of one sample for dLogProb * logProb -
   * entW * sum_l H_l, and its mean per-layer entropy. Per layer:
   * d logProb / dz_a = [a taken] - p_a, dH / dz_a = -p_a (log p_a + H).
   */
  private logitGrad(
    probs: Float64Array,
    action: readonly number[],
    dLogProb: number,
    entW: number,
  ): { dz: Float64Array; entropy: number } {
    const s = this.m + 1;
    const dz = new Float64Array(this.L * s);
    let entropy = 0;
    for (let l = 0; l < this.L; l++) {
      const Hl = layerEntropy(probs, l * s, s);
      entropy += Hl / this.L;
      for (let a = 0; a < s; a++) {
        const p = probs[l * s + a];
        const dH = p > 0 ? -p * (Math.log(p) + Hl) : 0;
        dz[l * s + a] = dLogProb * ((a === action[l] ? 1 : 0) - p) - entW * dH;
      }
    }
    return { dz, entropy };
  }

  private backward(
    f: Forward,
    dz: Float64Array,
    dv: number,
    g: Record<"gw1" | "gb1" | "gwp" | "gbp" | "gwv" | "gbv", Float64Array>,
  ): void {
    const { L, m, H } = this;
    const O = L * (m + 1);
    const dh = new Float64Array(H);
    for (let o = 0; o < O; o++) {
      if (dz[o] === 0) continue;
      g.gbp[o] += dz[o];
      for (let j = 0; j < H; j++) {
        g.gwp[o * H + j] += dz[o] * f.h[j];
        dh[j] += this.wp[o * H + j] * dz[o];
      }
    }
    g.gbv[0] += dv;
    for (let j = 0; j < H; j++) {
      g.gwv[j] += dv * f.h[j];
      dh[j] += this.wv[j] * dv;
    }

    // Through tanh; x is one-hot per layer, so only L columns of W1 move.
    for (let j = 0; j < H; j++) {
      const da = dh[j] * (1 - f.h[j] * f.h[j]);
      g.gb1[j] += da;
      for (const i of f.hot) g.gw1[j * L * m + i] += da;
    }
  }

  private adamStep(grads: readonly Float64Array[]): void {
    const b1 = 0.9;
    const b2 = 0.999;
    const eps = 1e-8;
    this.steps++;
    const c1 = 1 - Math.pow(b1, this.steps);
    const c2 = 1 - Math.pow(b2, this.steps);
    this.params().forEach((p, k) => {
      const { m, v } = this.adam[k];
      const g = grads[k];
      for (let i = 0; i < p.length; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        p[i] -= (this.cfg.lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
      }
    });
  }
}

function layerEntropy(p: Float64Array, off: number, n: number): number {
  let h = 0;
  for (let i = 0; i < n; i++) if (p[off + i] > 0) h -= p[off + i] * Math.log(p[off + i]);
  return h;
}

function gaussian(rng: Rng, n: number, std: number): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * std;
  return a;
}

function softmaxInPlace(z: Float64Array, off: number, n: number): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, z[off + i]);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    z[off + i] = Math.exp(z[off + i] - max);
    sum += z[off + i];
  }
  for (let i = 0; i < n; i++) z[off + i] /= sum;
}

function sampleCategorical(rng: Rng, p: Float64Array, off: number, n: number): number {
  let u = rng.next();
  for (let i = 0; i < n - 1; i++) {
    u -= p[off + i];
    if (u < 0) return i;
  }
  return n - 1;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
