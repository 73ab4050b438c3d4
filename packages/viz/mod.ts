// Public API of @fairnas/viz: read a run directory, render its report.
export { renderReport, REPORT_FORMAT } from "./src/report.ts";
export {
  readRun, RecordError, parseJsonText, parseMetricsText, parseArchitecturesText, RUN_RECORD_FILES,
} from "./src/records.ts";
export type {
  RunRecords, RunConfigRecord, SummaryRecord, BestArch, MetricsRecords, StepRecord, FairnessRecord,
  SearchGenerationRecord, ArchitectureRow, ParetoPoint, RankingPoint, RankingPanel, AblationRow,
  AblationRecord, SimilarityRecord, PonasRecord, PonasSweepPoint, PonasCompareRecord, LatencyRecord, BenchRecord,
  BenchKernel, BenchBlock, BnMode,
} from "./src/records.ts";
