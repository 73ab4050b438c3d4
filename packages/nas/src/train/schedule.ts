// Learning-rate schedule: linear warm-up, then cosine decay to `minLr`,
// indexed by optimizer update.

export interface ScheduleSpec {
  readonly lr: number;
  readonly minLr: number;
  readonly warmupUpdates: number;
  readonly totalUpdates: number;
}

export function learningRate(s: ScheduleSpec, update: number): number {
  if (update < s.warmupUpdates) return (s.lr * (update + 1)) / s.warmupUpdates;
  const span = Math.max(1, s.totalUpdates - s.warmupUpdates);
  const t = Math.min(1, (update - s.warmupUpdates) / span);
  return s.minLr + 0.5 * (s.lr - s.minLr) * (1 + Math.cos(Math.PI * t));
}
