// The shapes of the run-directory records the report reads (parsed and
// checked in records.ts).

export type BnMode = "recal" | "tracked";

/** config.json: the resolved run configuration (fields we read are typed). */
export interface RunConfigRecord {
  readonly preset?: string;
  readonly space?: string;
  readonly data?: string;
  readonly seed?: number;
  readonly train?: Readonly<Record<string, unknown>>;
  readonly eval?: Readonly<Record<string, unknown>>;
  readonly [key: string]: unknown;
}

export interface BestArch {
  readonly arch: string;
  readonly top1: number;
  readonly loss: number;
  readonly bn: string;
  readonly madds: number;
}

export interface SummaryRecord {
  readonly preset: string;
  readonly space: string;
  readonly device: string;
  readonly trainSteps: number;
  readonly trainSeconds: number;
  readonly pathImagesPerSec: number;
  readonly poolHighWaterBytes: number;
  readonly best: readonly BestArch[];
  readonly totalSeconds: number;
  /** Front members `run` retrained from scratch (absent in older summaries). */
  readonly standalone?: readonly StandaloneResult[];
}

export interface StandaloneResult {
  readonly arch: string;
  readonly testTop1: number;
  readonly valTop1: number;
  readonly epochs: number;
}

export interface StepRecord {
  readonly type: "step";
  readonly sampler: string;
  readonly step: number;
  readonly epoch: number;
  readonly updates: number;
  readonly loss: number;
  readonly top1: number;
  readonly lr: number;
  readonly msPerStep: number;
  readonly pathImagesPerSec: number;
  readonly poolHighWaterBytes: number;
}

export interface FairnessRecord {
  readonly type: "fairness";
  readonly sampler: string;
  readonly step: number;
  /** counts[layer][choice]: updates each choice received so far. */
  readonly counts: readonly (readonly number[])[];
  /** spread[layer]: max minus min count over the layer's choices. */
  readonly spread: readonly number[];
}

export interface SearchGenerationRecord {
  readonly type: "search-generation";
  readonly algo: string;
  readonly seed: number;
  readonly generation: number;
  readonly evaluations: number;
  readonly distinct: number;
  readonly hypervolume: number;
  readonly frontSize: number;
  readonly ppoMix: number;
}

/** The parts of metrics.jsonl the report uses; other types are counted. */
export interface MetricsRecords {
  readonly steps: readonly StepRecord[];
  readonly fairness: readonly FairnessRecord[];
  readonly generations: readonly SearchGenerationRecord[];
  /** Records of types the report does not draw, by type, sorted by name. */
  readonly otherTypes: Readonly<Record<string, number>>;
  /**
   * The 1-based number of a last line that was cut off mid-write (no final
   * newline, not valid JSON: the run was stopped while appending it), which
   * was skipped; null when the file ends cleanly.
   */
  readonly cutLastLine: number | null;
}

export interface ArchitectureRow {
  readonly arch: string;
  readonly hash: string;
  readonly valTop1: number;
  readonly valLoss: number;
  readonly bn: string;
  readonly images: number;
  readonly madds: number;
  readonly params: number;
}

export interface ParetoPoint {
  readonly algo: string;
  readonly arch: string;
  readonly top1: number;
  readonly madds: number;
  readonly params: number;
  readonly latencyMs: number;
}

export interface RankingPoint {
  readonly arch: string;
  readonly supernet: number;
  readonly standalone: number;
}

export interface RankingPanel {
  readonly bn: BnMode;
  readonly points: readonly RankingPoint[];
  readonly tauB: { readonly value: number; readonly lo: number; readonly hi: number };
  readonly spearman: number;
  readonly n: number;
}

export interface AblationRow {
  readonly sampler: string;
  readonly bn: string;
  readonly tauB: number;
  readonly tauLo: number;
  readonly tauHi: number;
  readonly spearman: number;
  readonly gap: number;
  readonly n: number;
}

export interface AblationRecord {
  readonly rows: readonly AblationRow[];
}

export interface SimilarityRecord {
  readonly layer: string;
  readonly choices: readonly string[];
  /** matrix[i][j]: similarity of choice i's and choice j's features. */
  readonly matrix: readonly (readonly number[])[];
}

export interface PonasSweepPoint {
  readonly key: string;
  readonly budget: number;
  readonly predicted: number;
  readonly measured?: number;
}

export interface PonasRecord {
  readonly table: {
    readonly choices: readonly string[];
    readonly layers: readonly string[];
    /** top1[layer][choice] */
    readonly top1: readonly (readonly number[])[];
  };
  /** maxLoss[layer]: largest top-1 drop over the layer's choices. */
  readonly maxLoss: readonly number[];
  readonly startpoint: string;
  readonly sweep: readonly PonasSweepPoint[];
  /** Specialized networks against the search at the same MAdds budgets. */
  readonly compare?: PonasCompareRecord;
}

export interface PonasCompareSide {
  readonly arch: string;
  readonly madds: number;
  readonly params: number;
  /** Supernet-scored top-1 (fraction) on the table's validation images. */
  readonly measured: number | null;
}

export interface PonasCompareRecord {
  readonly key: string;
  readonly valImages: number;
  readonly search: {
    readonly algo: string;
    readonly population: number;
    readonly generations: number;
    readonly evaluations: number;
    readonly seconds: number;
    readonly front: number;
  };
  /** Median wall time of one specialization (exact + greedy). */
  readonly specializeMs: number;
  /** One-time cost of the table the specializations read. */
  readonly tableSeconds: number;
  readonly points: readonly {
    /** MAdds upper bound shared by both methods. */
    readonly budget: number;
    readonly ponas: PonasCompareSide & { readonly predicted: number };
    /** Most accurate front member within the budget; null when none fits. */
    readonly search: PonasCompareSide | null;
    /** search minus PONAS measured top-1 (fraction); null when either is missing. */
    readonly delta: number | null;
  }[];
}

export interface LatencyRecord {
  readonly adapter: {
    readonly vendor: string;
    readonly architecture: string;
    readonly description: string;
    readonly backend: string;
  };
  readonly checks: readonly {
    readonly arch: string;
    readonly predictedMs: number;
    readonly measuredMs: number;
    readonly relError: number;
  }[];
}

export interface BenchKernel {
  readonly name: string;
  readonly shape: string;
  readonly ms: number;
  readonly gflops: number;
  readonly gbps: number;
  /** Achieved fraction of the roofline bound for this kernel. */
  readonly ratio: number;
  /** GPU pool high-water over the case (absent in records written before it was measured). */
  readonly poolHighWaterBytes?: number;
}

export interface BenchBlock {
  readonly name: string;
  readonly fwdMs: number;
  readonly fwdBwdMs: number;
  /** GPU pool high-water over the block (absent in older records). */
  readonly poolHighWaterBytes?: number;
  readonly peer: { readonly name: string; readonly fwdBwdMs: number } | null;
}

export interface BenchRecord {
  readonly device: string;
  readonly ceilings: { readonly gflops: number; readonly gbps: number };
  readonly kernels: readonly BenchKernel[];
  readonly blocks: readonly BenchBlock[];
  /** GPU pool high-water over the whole benchmark (absent in older records). */
  readonly poolHighWaterBytes?: number;
}

/** Everything a run directory may hold; null where the file is absent. */
export interface RunRecords {
  /** Directory name only (never an absolute path), shown as the title. */
  readonly name: string;
  readonly config: RunConfigRecord;
  readonly summary: SummaryRecord | null;
  readonly metrics: MetricsRecords | null;
  readonly architectures: readonly ArchitectureRow[] | null;
  readonly pareto: readonly ParetoPoint[] | null;
  readonly ranking: readonly RankingPanel[] | null;
  readonly ablation: AblationRecord | null;
  readonly similarity: readonly SimilarityRecord[] | null;
  readonly ponas: PonasRecord | null;
  readonly latency: LatencyRecord | null;
  readonly bench: BenchRecord | null;
}
