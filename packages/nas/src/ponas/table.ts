// The progressive candidate table of PONAS as plain data: row l holds the
// measured top-1 accuracy of every candidate c at searchable layer l, with
// the other layers held at the current best. Specialization reads it as a
// per-layer accuracy loss relative to the best candidate of that row.

export interface CandidateTable {
  readonly layers: number;
  readonly choices: number;
  readonly top1: number[][]; // [layers][choices], accuracy (any unit)
  /** Measured loss, when known directly; it then takes precedence. */
  readonly loss?: number[][]; // [layers][choices], >= 0
  readonly best: number[]; // [layers], argmax of top1 per row
}

function checkGrid(name: string, t: CandidateTable, grid: readonly (readonly number[])[]): void {
  if (grid.length !== t.layers) {
    throw new Error(
      `${name}: expected ${t.layers} rows ([layers, choices] = ` +
        `[${t.layers}, ${t.choices}]), got ${grid.length}`,
    );
  }
  grid.forEach((row, l) => {
    if (row.length !== t.choices) {
      throw new Error(`${name}: row ${l} has ${row.length} entries, expected ${t.choices}`);
    }
    row.forEach((v, c) => {
      if (!Number.isFinite(v)) {
        throw new Error(`${name}: non-finite value ${v} at [${l}, ${c}]`);
      }
    });
  });
}

/** Argmax per row; ties go to the lowest choice index. */
function argmaxRows(top1: readonly (readonly number[])[]): number[] {
  return top1.map((row) => {
    let best = 0;
    for (let c = 1; c < row.length; c++) if (row[c] > row[best]) best = c;
    return best;
  });
}

/** Builds a table from measured accuracies, filling in `best`. */
export function candidateTable(top1: number[][]): CandidateTable {
  const layers = top1.length;
  const choices = layers > 0 ? top1[0].length : 0;
  const t = { layers, choices, top1, best: argmaxRows(top1) };
  checkGrid("candidateTable top1", t, top1);
  return t;
}

/** Validates shapes and that `best` really is the argmax of each row. */
export function checkTable(t: CandidateTable): void {
  if (t.layers < 1 || t.choices < 1) {
    throw new Error(
      `candidate table needs [layers, choices] >= [1, 1], got ` + `[${t.layers}, ${t.choices}]`,
    );
  }
  checkGrid("candidate table top1", t, t.top1);
  if (t.loss) checkGrid("candidate table loss", t, t.loss);
  if (t.best.length !== t.layers) {
    throw new Error(`candidate table best has ${t.best.length} entries, expected ${t.layers}`);
  }
  t.best.forEach((b, l) => {
    const row = t.top1[l];
    if (!Number.isInteger(b) || b < 0 || b >= t.choices) {
      throw new Error(`candidate table best[${l}] = ${b} is not in [0, ${t.choices})`);
    }
    if (row.some((v) => v > row[b])) {
      throw new Error(
        `candidate table best[${l}] = ${b} (top1 ${row[b]}) is not the row ` +
          `maximum ${Math.max(...row)}`,
      );
    }
  });
}

/**
 * loss[l][c] = top1[l][best_l] - top1[l][c] (>= 0), or the table's own
 * `loss` when present (checked to be >= 0). Returns a fresh array.
 */
export function accuracyLoss(t: CandidateTable): number[][] {
  checkTable(t);
  if (t.loss) {
    t.loss.forEach((row, l) =>
      row.forEach((v, c) => {
        if (v < 0) throw new Error(`candidate table loss[${l}][${c}] = ${v} < 0`);
      }),
    );
    return t.loss.map((row) => row.slice());
  }
  return t.top1.map((row, l) => row.map((v) => row[t.best[l]] - v));
}

/** Largest loss per layer: how much a row can cost at worst. */
export function maxLossPerLayer(t: CandidateTable): number[] {
  return accuracyLoss(t).map((row) => Math.max(...row));
}

/** The zero-loss architecture: the best candidate of every row. */
export function startpoint(t: CandidateTable): number[] {
  checkTable(t);
  return t.best.slice();
}
