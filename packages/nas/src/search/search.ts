// The search driver: NSGA-II (optionally with PPO-proposed mutations, in
// the MoreMNAS manner) or random search over architectures given as one
// choice index per searchable layer, under hard cost constraints.
//
// Sign convention: internally every objective is minimized, as the vector
// [-top1, madds, third]. Constraint violation is a non-negative sum of
// relative excesses; 0 means feasible. Policy rewards are maximized:
//   +1    child not dominated by any member of the current population
//   -0.1  child dominated, or a duplicate of something already seen
//   -0.5  child breaks a constraint
// Costs come from cheap callbacks; top-1 from the expensive `evaluate`,
// called once per generation on the new distinct feasible architectures.
// Infeasible architectures are never evaluated.
//
// Policy share (nsga2-ppo): each child's mutation is drawn from the policy
// with probability mix(g), else from the random per-layer mutation.
// Generation 0 is uniform random; mix falls linearly from ppoMix.start at
// generation 1 to ppoMix.end at the last (default 0.8 -> 0.2): the policy
// explores early, plain evolution refines late. The policy is updated once
// per generation on that generation's samples.
// NOTE: the returned front is the non-dominated feasible set of everything
// evaluated, not only the final population, so no algorithm loses a front
// member to population truncation and all three compare on equal terms.

import { Rng } from "@fairnas/kernels";
import { hypervolume } from "./hypervolume.ts";
import {
  constrainedDominates,
  dominates,
  environmentalSelection,
  mutateLayers,
  rankAndCrowding,
  tournament,
  uniformCrossover,
  type RankCrowding,
} from "./nsga2.ts";
import { PpoPolicy, type PpoSample } from "./ppo.ts";
import {
  buildLayerCostTable,
  costBounds,
  extremeArch,
  impossibleBounds,
  repair,
  violation,
  type LayerCostTable,
} from "./costs.ts";
import type {
  CostKey,
  Costs,
  FrontMember,
  GenerationLog,
  PpoLog,
  SearchConfig,
  SearchResult,
} from "./types.ts";

export type {
  Arch,
  Constraint,
  CostKey,
  Costs,
  FrontMember,
  GenerationLog,
  Objectives,
  PpoLog,
  RefPoint,
  SearchConfig,
  SearchResult,
} from "./types.ts";
export { buildLayerCostTable, violation, type LayerCostTable } from "./costs.ts";

const COST_KEYS: readonly CostKey[] = ["madds", "params", "latencyMs"];
const REWARD_FRONT = 1;
const REWARD_STALE = -0.1;
const REWARD_INFEASIBLE = -0.5;

/** Linear policy-share schedule; generation 0 (random init) uses none. */
export function ppoMixAt(
  generation: number,
  generations: number,
  mix: { start: number; end: number },
): number {
  if (generation < 1) return 0;
  if (generations <= 1) return mix.start;
  return mix.start + ((mix.end - mix.start) * (generation - 1)) / (generations - 1);
}

// ---------------------------------------------------------------------------
// Records and proposals

interface Rec {
  readonly arch: number[];
  readonly key: string;
  readonly costs: Costs;
  readonly violation: number;
  /** null: infeasible, never evaluated. */
  top1: number | null;
}

interface Proposal {
  readonly arch: number[];
  /** Set when the policy proposed it. */
  readonly ppo?: { state: number[]; action: number[]; logProb: number };
}

interface GenCounters {
  infeasible: number;
  duplicate: number;
  repairs: number;
}

class Search {
  readonly records = new Map<string, Rec>();
  evaluations = 0;

  constructor(
    readonly cfg: SearchConfig,
    readonly t: LayerCostTable,
  ) {}

  record(arch: number[]): Rec {
    const key = this.cfg.key(arch);
    const known = this.records.get(key);
    if (known) return known;
    const costs = this.cfg.costs(arch);
    return { arch, key, costs, violation: violation(costs, this.cfg.constraints), top1: null };
  }

  objectives(r: Rec): number[] {
    return [-(r.top1 ?? 0), r.costs.madds, r.costs[this.cfg.third]];
  }

  /**
   * Draws proposals until one is feasible and unseen, up to maxRetries;
   * rejected policy proposals become samples with their penalty. When
   * retries run out the last proposal is repaired toward feasibility.
   */
  admit(
    make: () => Proposal,
    pending: Set<string>,
    n: GenCounters,
    samples: PpoSample[],
  ): { rec: Rec; proposal: Proposal } {
    const retries = this.cfg.maxRetries ?? 20;
    let last: { rec: Rec; proposal: Proposal } | null = null;
    for (let t = 0; t <= retries; t++) {
      const proposal = make();
      const rec = this.record(proposal.arch);
      last = { rec, proposal };
      const stale = this.records.has(rec.key) || pending.has(rec.key);
      if (rec.violation <= 0 && !stale) return last;
      if (t === retries) break;
      if (rec.violation > 0) n.infeasible++;
      else n.duplicate++;
      const reward = rec.violation > 0 ? REWARD_INFEASIBLE : REWARD_STALE;
      if (proposal.ppo) samples.push({ ...proposal.ppo, reward });
    }
    const { rec, proposal } = last!;
    if (rec.violation <= 0) return last!;

    // Out of retries and infeasible: the policy is charged for its proposal,
    // and the repaired child counts as a plain (non-policy) child.
    if (proposal.ppo) samples.push({ ...proposal.ppo, reward: REWARD_INFEASIBLE });
    n.repairs++;
    const fixed = repair(this.cfg, this.t, rec.arch);
    return { rec: this.record(fixed), proposal: { arch: fixed } };
  }

  /**
   * Evaluates the new feasible records in one call and stores them all.
   * Returns the stored record for each input (equal keys share one).
   */
  async evaluate(recs: readonly Rec[]): Promise<Rec[]> {
    const fresh: Rec[] = [];
    for (const r of recs) {
      if (this.records.has(r.key)) continue;
      this.records.set(r.key, r);
      if (r.violation <= 0) fresh.push(r);
    }
    if (fresh.length > 0) {
      const top1 = await this.cfg.evaluate(fresh.map((r) => r.arch));
      if (top1.length !== fresh.length) {
        throw new Error(`evaluate: returned ${top1.length} values for ${fresh.length} archs`);
      }
      fresh.forEach((r, i) => {
        r.top1 = top1[i];
      });
      this.evaluations += fresh.length;
    }
    return recs.map((r) => this.records.get(r.key)!);
  }

  randomArch(rng: Rng): number[] {
    return Array.from({ length: this.cfg.layers }, () => rng.int(this.cfg.numChoices));
  }
}

// ---------------------------------------------------------------------------
// Hypervolume normalizer

/**
 * Maps a record to the space the hypervolume is measured in:
 * [-top1, madds scaled, third scaled], each cost scaled so that its lowest
 * achievable value is 0 and the reference value is 1. The reference point
 * there is [-ref.top1, 1, 1]; the hypervolume is in top1 units.
 */
interface Normalizer {
  readonly point: (r: Rec) => number[];
  readonly ref: number[];
}

function normalizer(cfg: SearchConfig, t: LayerCostTable): Normalizer {
  const lo = (k: CostKey): number => cfg.costs(extremeArch(t, k, 1))[k];
  const hi = (k: CostKey): number => cfg.costs(extremeArch(t, k, -1))[k];
  const ref = cfg.refPoint ?? {
    top1: 0,
    madds: 1.1 * hi("madds"),
    third: 1.1 * hi(cfg.third),
  };
  const scale = (k: CostKey, r: number): ((x: number) => number) => {
    const base = lo(k);
    const span = r - base > 0 ? r - base : 1;
    return (x) => (x - base) / span;
  };
  const sm = scale("madds", ref.madds);
  const st = scale(cfg.third, ref.third);
  return {
    point: (r) => [-(r.top1 ?? 0), sm(r.costs.madds), st(r.costs[cfg.third])],
    ref: [-ref.top1, sm(ref.madds), st(ref.third)],
  };
}

// ---------------------------------------------------------------------------
// Algorithms

const STREAM_INIT = 1;
const STREAM_VARY = 2;

interface Ctx {
  readonly s: Search;
  readonly norm: Normalizer;
  readonly history: GenerationLog[];
}

function logGeneration(
  ctx: Ctx,
  g: number,
  pop: readonly Rec[],
  n: GenCounters,
  mix: number,
  ppo: PpoLog | null,
): void {
  const feasible = pop.filter((r) => r.violation <= 0 && r.top1 !== null);
  const objs = feasible.map((r) => ctx.s.objectives(r));
  const first = objs.filter((o) => !objs.some((p) => dominates(p, o)));
  const entry: GenerationLog = {
    generation: g,
    evaluations: ctx.s.evaluations,
    distinct: new Set(pop.map((r) => r.key)).size,
    feasible: feasible.length,
    hypervolume: hypervolume(feasible.map(ctx.norm.point), ctx.norm.ref),
    frontSize: first.length,
    ppoMix: mix,
    ppo,
    retries: { infeasible: n.infeasible, duplicate: n.duplicate },
    repairs: n.repairs,
  };
  ctx.history.push(entry);
  ctx.s.cfg.onGeneration?.(entry);
}

/** A batch of up to `count` distinct admitted records drawn by `make`. */
function drawBatch(
  s: Search,
  count: number,
  make: () => Proposal,
  n: GenCounters,
  samples: PpoSample[],
): { rec: Rec; proposal: Proposal }[] {
  const pending = new Set<string>();
  const out: { rec: Rec; proposal: Proposal }[] = [];
  for (let i = 0; i < count; i++) {
    const got = s.admit(make, pending, n, samples);
    pending.add(got.rec.key);
    out.push(got);
  }
  return out;
}

function newCounters(): GenCounters {
  return { infeasible: 0, duplicate: 0, repairs: 0 };
}

/**
 * Random search: each generation draws `population` uniform architectures
 * (same retry rule), so the distinct evaluations match NSGA-II's nominal
 * population * (generations + 1). Its logged population is the elitist
 * selection of everything drawn so far, so its trace compares with NSGA-II.
 */
async function runRandom(ctx: Ctx): Promise<void> {
  const { s } = ctx;
  const { population: P, generations: G, seed } = s.cfg;
  let pop: Rec[] = [];
  for (let g = 0; g <= G; g++) {
    const rng = Rng.derive(seed, STREAM_INIT, g);
    const n = newCounters();
    const batch = drawBatch(s, P, () => ({ arch: s.randomArch(rng) }), n, []);
    const recs = await s.evaluate(batch.map((b) => b.rec));
    pop = survivors(s, [...pop, ...recs], P);
    logGeneration(ctx, g, pop, n, 0, null);
  }
}

/** Elitist survivors of parents + children, duplicates (by key) merged. */
function survivors(s: Search, pool: readonly Rec[], size: number): Rec[] {
  const byKey = new Map<string, Rec>();
  for (const r of pool) if (!byKey.has(r.key)) byKey.set(r.key, r);
  const union = [...byKey.values()];
  const kept = environmentalSelection(
    union.map((r) => s.objectives(r)),
    size,
    union.map((r) => r.violation),
  );
  return kept.map((i) => union[i]);
}

/**
 * Policy reward of each policy-made child against the parents it joins:
 * REWARD_FRONT when no parent dominates it (constrained), else REWARD_STALE.
 */
function childRewards(
  s: Search,
  parents: readonly Rec[],
  kids: readonly { rec: Rec; proposal: Proposal }[],
  samples: PpoSample[],
): void {
  const pObjs = parents.map((r) => s.objectives(r));
  const seen = new Set<string>();
  for (const { rec, proposal } of kids) {
    if (!proposal.ppo) continue;
    let reward = REWARD_STALE;
    if (rec.violation > 0) reward = REWARD_INFEASIBLE;
    else if (!seen.has(rec.key) && !parents.some((p) => p.key === rec.key)) {
      const o = s.objectives(rec);
      const beaten = parents.some((p, i) =>
        constrainedDominates(pObjs[i], o, p.violation, rec.violation),
      );
      if (!beaten) reward = REWARD_FRONT;
    }
    seen.add(rec.key);
    samples.push({ ...proposal.ppo, reward });
  }
}

/**
 * The proposer of one generation: tournament parents, uniform crossover,
 * then a roulette between a policy-proposed (probability `mix`) and a
 * random per-layer mutation.
 */
function proposer(
  cfg: SearchConfig,
  rng: Rng,
  parents: readonly Rec[],
  rc: RankCrowding,
  policy: PpoPolicy | null,
  mix: number,
): () => Proposal {
  const rate = cfg.mutationRate ?? 1 / cfg.layers;
  const crossoverRate = cfg.crossoverRate ?? 0.9;
  return () => {
    const a = parents[tournament(rng, rc)].arch;
    const b = parents[tournament(rng, rc)].arch;
    const base = rng.next() < crossoverRate ? uniformCrossover(rng, a, b) : [...a];
    if (policy && rng.next() < mix) {
      const act = policy.act(rng, base);
      return { arch: act.child, ppo: { state: base, action: act.action, logProb: act.logProb } };
    }
    return { arch: mutateLayers(rng, base, cfg.numChoices, rate) };
  };
}

async function runNsga2(ctx: Ctx, withPolicy: boolean): Promise<void> {
  const { s } = ctx;
  const cfg = s.cfg;
  const { population: P, generations: G, seed } = cfg;
  const mixCfg = cfg.ppoMix ?? { start: 0.8, end: 0.2 };
  const policy = withPolicy
    ? new PpoPolicy({ seed, ...cfg.ppo, layers: cfg.layers, numChoices: cfg.numChoices })
    : null;

  // Generation 0: uniform random initial population.
  const rng0 = Rng.derive(seed, STREAM_INIT, 0);
  const n0 = newCounters();
  const init = drawBatch(s, P, () => ({ arch: s.randomArch(rng0) }), n0, []);
  let pop = survivors(s, await s.evaluate(init.map((b) => b.rec)), P);
  logGeneration(ctx, 0, pop, n0, 0, null);

  for (let g = 1; g <= G; g++) {
    const rng = Rng.derive(seed, STREAM_VARY, g);
    const rc = rankAndCrowding(
      pop.map((r) => s.objectives(r)),
      pop.map((r) => r.violation),
    );
    const mix = policy ? ppoMixAt(g, G, mixCfg) : 0;
    const parents = pop;

    // Children: drawn, evaluated, rewarded (policy ones), then selection.
    const n = newCounters();
    const samples: PpoSample[] = [];
    const drawn = drawBatch(s, P, proposer(cfg, rng, parents, rc, policy, mix), n, samples);
    const recs = await s.evaluate(drawn.map((k) => k.rec));
    const kids = drawn.map((k, i) => ({ rec: recs[i], proposal: k.proposal }));
    childRewards(s, parents, kids, samples);
    pop = survivors(s, [...parents, ...recs], P);

    let ppo: PpoLog | null = null;
    if (policy && samples.length > 0) {
      const st = policy.update(samples);
      ppo = { loss: st.loss, entropy: st.entropy, meanReward: st.meanReward, samples: st.samples };
    }
    logGeneration(ctx, g, pop, n, mix, ppo);
  }
}

// ---------------------------------------------------------------------------
// Entry point

function validate(cfg: SearchConfig): void {
  const { layers: L, numChoices: m, population: P, generations: G } = cfg;
  const ok = [L, m, P].every((x) => Number.isInteger(x) && x >= 1) && Number.isInteger(G) && G >= 0;
  if (!ok) {
    throw new Error(
      `runSearch: need integer layers, numChoices, population >= 1 and ` +
        `generations >= 0; got L ${L} m ${m} population ${P} generations ${G}`,
    );
  }
  for (const c of cfg.constraints) {
    if (!COST_KEYS.includes(c.key)) throw new Error(`runSearch: unknown constraint key ${c.key}`);
  }
}

/** Non-dominated feasible evaluated records, sorted by madds then top1. */
function finalFront(s: Search): FrontMember[] {
  const done = [...s.records.values()].filter((r) => r.violation <= 0 && r.top1 !== null);
  const objs = done.map((r) => s.objectives(r));
  return done
    .filter((_, i) => !objs.some((p) => dominates(p, objs[i])))
    .map((r) => ({ arch: [...r.arch], top1: r.top1!, ...r.costs }))
    .sort(
      (a, b) => a.madds - b.madds || b.top1 - a.top1 || a.arch.join().localeCompare(b.arch.join()),
    );
}

export async function runSearch(cfg: SearchConfig): Promise<SearchResult> {
  validate(cfg);
  const t = buildLayerCostTable(cfg);
  const bounds = costBounds(cfg, t);

  // Provably impossible bounds: report them without spending evaluations.
  const impossible = impossibleBounds(cfg, bounds);
  if (impossible.length > 0) {
    return {
      front: [],
      history: [],
      evaluations: 0,
      infeasible: { ...bounds, message: `no architecture can meet ${impossible.join("; ")}` },
    };
  }

  const s = new Search(cfg, t);
  const ctx: Ctx = { s, norm: normalizer(cfg, t), history: [] };
  if (cfg.algo === "random") await runRandom(ctx);
  else await runNsga2(ctx, cfg.algo === "nsga2-ppo");

  const front = finalFront(s);
  if (front.length > 0) return { front, history: ctx.history, evaluations: s.evaluations };
  return {
    front,
    history: ctx.history,
    evaluations: s.evaluations,
    infeasible: {
      ...bounds,
      message:
        "no feasible architecture found; each bound may be reachable alone " +
        "but not all together",
    },
  };
}
