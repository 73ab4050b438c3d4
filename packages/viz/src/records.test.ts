import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  RecordError,
  parseArchitecturesText,
  parseJsonText,
  parseMetricsText,
  readRun,
} from "./records.ts";

const FIXTURE = fileURLToPath(new URL("../test-fixtures/run-small", import.meta.url));

function tempRun(files: Readonly<Record<string, string>>): string {
  const dir = mkdtempSync(join(tmpdir(), "viz-records-"));
  copyFileSync(join(FIXTURE, "config.json"), join(dir, "config.json"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function thrown(f: () => unknown): RecordError {
  try {
    f();
  } catch (e) {
    if (e instanceof RecordError) return e;
    throw e;
  }
  throw new Error("expected a RecordError");
}

describe("readRun", () => {
  it("readRun run-small: every record file parsed", () => {
    const run = readRun(FIXTURE);
    expect(run.name).toBe("run-small");
    expect(run.config.preset).toBe("quick");
    expect(run.summary?.trainSteps).toBe(32);
    expect(run.metrics?.steps.length).toBe(16);
    expect(run.metrics?.fairness.length).toBe(16);
    expect(run.metrics?.generations.length).toBe(10);
    expect(run.metrics?.otherTypes).toEqual({ ablation: 1, ranking: 1 });
    expect(run.architectures?.length).toBe(6);
    expect(run.architectures?.[0]?.madds).toBe(1_900_000);
    expect(run.pareto?.length).toBe(7);
    expect(run.ranking?.map((p) => p.bn)).toEqual(["recal", "tracked"]);
    expect(run.ablation?.rows.length).toBe(4);
    expect(run.similarity?.map((s) => s.matrix.length)).toEqual([4, 4]);
    expect(run.ponas?.table.top1.length).toBe(8);
    expect(run.latency?.checks.length).toBe(4);
    expect(run.bench?.kernels.length).toBe(4);
  });

  it("readRun config-only directory: optional records are null", () => {
    const run = readRun(tempRun({}));
    expect(run.config.seed).toBe(1);
    const rest = [
      run.summary,
      run.metrics,
      run.architectures,
      run.pareto,
      run.ranking,
      run.ablation,
      run.similarity,
      run.ponas,
      run.latency,
      run.bench,
    ];
    expect(rest.every((r) => r === null)).toBe(true);
  });

  it("readRun without config.json names the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "viz-records-"));
    const e = thrown(() => readRun(dir));
    expect(e.file).toBe("config.json");
    expect(e.message).toMatch(/^config\.json: no config\.json/);
  });

  it("readRun malformed pareto.json reports file and line 4", () => {
    const dir = tempRun({
      "pareto.json": '[\n  {"algo": "a",\n   "top1": 0.8,\n   "madds" 3}\n]\n',
    });
    const e = thrown(() => readRun(dir));
    expect(e.file).toBe("pareto.json");
    expect(e.line).toBe(4);
    expect(e.message.startsWith("pareto.json:4: invalid JSON")).toBe(true);
  });
});

describe("record parsers", () => {
  it("metrics.jsonl bad JSON on line 3 of 4", () => {
    const text =
      '{"type":"step","step":1,"loss":2,"top1":0.1,"lr":0.1}\n\n{"type": oops}\n{"type":"x"}\n';
    const e = thrown(() => parseMetricsText("metrics.jsonl", text));
    expect([e.file, e.line]).toEqual(["metrics.jsonl", 3]);
  });

  it("metrics.jsonl last line cut off mid-write is skipped and reported", () => {
    const full = '{"type":"step","step":1,"loss":2,"top1":0.1,"lr":0.1}\n';
    const m = parseMetricsText("metrics.jsonl", `${full}${full}{"type":"step","st`);
    expect(m.steps.map((s) => s.step)).toEqual([1, 1]);
    expect(m.cutLastLine).toBe(3);
    expect(parseMetricsText("metrics.jsonl", full).cutLastLine).toBeNull();
    // With its newline written the line was complete: bad JSON there is damage.
    const e = thrown(() => parseMetricsText("metrics.jsonl", `${full}{"type":"step","st\n`));
    expect([e.file, e.line]).toEqual(["metrics.jsonl", 2]);
  });

  it("metrics.jsonl step with a string loss on line 2", () => {
    const text = '{"type":"other"}\n{"type":"step","step":1,"loss":"2","top1":0.1,"lr":0.1}\n';
    const e = thrown(() => parseMetricsText("metrics.jsonl", text));
    expect(e.message).toBe('metrics.jsonl:2: step.loss: expected a finite number, got "2"');
  });

  it("metrics.jsonl unknown types are counted, not drawn", () => {
    const m = parseMetricsText("m", '{"type":"b"}\n{"type":"a"}\n{"type":"b"}\n');
    expect(m.otherTypes).toEqual({ a: 1, b: 2 });
    expect(Object.keys(m.otherTypes)).toEqual(["a", "b"]);
    expect(m.steps.length + m.fairness.length + m.generations.length).toBe(0);
  });

  it("summary.json fields the report shows are checked, each named", () => {
    const good = JSON.parse(readFileSync(join(FIXTURE, "summary.json"), "utf8"));
    expect(readRun(tempRun({ "summary.json": JSON.stringify(good) })).summary?.device).toBe(
      good.device,
    );
    type Summary = { device?: string; totalSeconds?: number; best: Record<string, unknown>[] };
    const cases: [(s: Summary) => void, string][] = [
      [(s) => delete s.device, "summary.device: expected a string, got undefined"],
      [(s) => delete s.best[0].bn, "summary.best[0].bn: expected a string, got undefined"],
      [
        (s) => (s.best[0].top1 = "85%"),
        'summary.best[0].top1: expected a finite number, got "85%"',
      ],
      [
        (s) => delete s.totalSeconds,
        "summary.totalSeconds: expected a finite number, got undefined",
      ],
    ];
    for (const [spoil, message] of cases) {
      const s = structuredClone(good);
      spoil(s);
      const dir = tempRun({ "summary.json": JSON.stringify(s) });
      expect(thrown(() => readRun(dir)).message).toBe(`summary.json:1: ${message}`);
    }
  });

  it("architectures.csv non-numeric madds on line 3", () => {
    const text =
      "arch,hash,val_top1,val_loss,bn,images,madds,params\n" +
      "a,h,0.5,1,recal,10,100,5\na,h,0.5,1,recal,10,many,5\n";
    const e = thrown(() => parseArchitecturesText("architectures.csv", text));
    expect(e.message).toBe("architectures.csv:3: madds: expected a number, got 'many'");
  });

  it("architectures.csv wrong header on line 1", () => {
    const e = thrown(() => parseArchitecturesText("architectures.csv", "arch,top1\n"));
    expect(e.line).toBe(1);
    expect(e.message).toBe(
      "architectures.csv:1: expected header " +
        "'arch,hash,val_top1,val_loss,bn,images,madds,params', got 'arch,top1'",
    );
  });

  it("JSON error position maps to line 2", () => {
    const e = thrown(() => parseJsonText("x.json", '{"a": 1,\n "b": }\n'));
    expect(e.line).toBe(2);
    expect([e.file, e.message.startsWith("x.json:2: invalid JSON")]).toEqual(["x.json", true]);
  });
});
