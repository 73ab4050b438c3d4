// Snapshot comparison for rendered reports, used by tests: compares HTML
// with a committed file, writes <name>-changed.html beside it on mismatch,
// and rewrites the committed file when UPDATE_SNAPSHOTS=1.

import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export interface SnapshotResult {
  readonly ok: boolean;
  /** Readable summary of the difference; empty when ok. */
  readonly message: string;
}

/** First differing lines and counts, short enough for a test failure. */
export function diffSummary(expected: string, actual: string, maxShown = 5): string {
  const a = expected.split("\n");
  const b = actual.split("\n");
  const shown: string[] = [];
  let differing = 0;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    differing++;
    if (shown.length < maxShown) {
      const cut = (s: string | undefined) =>
        s === undefined ? "<no line>" : s.length > 160 ? `${s.slice(0, 160)}...` : s;
      shown.push(`  line ${i + 1}:\n    - ${cut(a[i])}\n    + ${cut(b[i])}`);
    }
  }
  return (
    `${differing} of ${Math.max(a.length, b.length)} lines differ ` +
    `(expected ${a.length} lines, got ${b.length}):\n${shown.join("\n")}`
  );
}

export function checkSnapshot(expectedPath: string, actual: string): SnapshotResult {
  const changed = join(dirname(expectedPath), `${basename(expectedPath, ".html")}-changed.html`);
  if (process.env.UPDATE_SNAPSHOTS === "1") {
    writeFileSync(expectedPath, actual);
    rmSync(changed, { force: true });
    return { ok: true, message: "" };
  }
  if (!existsSync(expectedPath)) {
    writeFileSync(changed, actual);
    return {
      ok: false,
      message: `no snapshot ${expectedPath}; wrote ${changed}. Run with UPDATE_SNAPSHOTS=1 to accept.`,
    };
  }
  const expected = readFileSync(expectedPath, "utf8");
  if (expected === actual) {
    rmSync(changed, { force: true });
    return { ok: true, message: "" };
  }
  writeFileSync(changed, actual);
  return {
    ok: false,
    message:
      `report differs from ${expectedPath}; wrote ${changed}\n${diffSummary(expected, actual)}\n` +
      "If the change is intended, rerun with UPDATE_SNAPSHOTS=1.",
  };
}
