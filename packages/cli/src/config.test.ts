import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Logger, type Sink } from "@fairnas/kernels";
import { costOf, getSpace, resolveSpace } from "@fairnas/nas";
import { checkSearchBudgets, ConfigError, resolveConfig } from "./config.ts";
import { main } from "./main.ts";

// The fmnist space's cheapest network takes k3e3 in all 8 layers.
const space = resolveSpace(getSpace("fmnist"));
const k3e3 = space.tokens.indexOf("k3e3");
const cheapest = costOf(
  space,
  space.layers.map(() => k3e3),
);

describe("search budgets below the cheapest network", () => {
  it("maxMadds one below the cheapest is refused, naming the cheapest network", () => {
    const bad = { search: { maxMadds: cheapest.madds - 1 } };
    expect(() => resolveConfig("quick", bad, {})).toThrow(ConfigError);
    expect(() => resolveConfig("quick", bad, {})).toThrow(
      `search.maxMadds: no network of space 'fmnist' has at most ${cheapest.madds - 1} MAdds; ` +
        `the cheapest has ${cheapest.madds} (${new Array(8).fill("k3e3").join("-")})`,
    );
  });

  it("maxMadds equal to the cheapest, and 0 (no budget), are accepted", () => {
    expect(
      resolveConfig("quick", { search: { maxMadds: cheapest.madds } }, {}).search.maxMadds,
    ).toBe(cheapest.madds);
    expect(resolveConfig("quick", { search: { maxMadds: 0 } }, {}).search.maxMadds).toBe(0);
  });

  it("maxParams one below the cheapest is refused", () => {
    const bad = { search: { maxParams: cheapest.params - 1 } };
    expect(() => resolveConfig("quick", bad, {})).toThrow(
      new RegExp(`search\\.maxParams: .* the cheapest has ${cheapest.params} `),
    );
    const ok = resolveConfig("quick", { search: { maxParams: cheapest.params } }, {});
    expect(() => checkSearchBudgets(ok, space)).not.toThrow();
  });

  it("nas-cli run refuses it before creating the run directory", async () => {
    const root = mkdtempSync(join(tmpdir(), "budget-"));
    const cfgFile = join(root, "tiny.json");
    writeFileSync(cfgFile, JSON.stringify({ search: { maxMadds: 1000 } }));
    const lines: string[] = [];
    const sink: Sink = { write: (s: string) => lines.push(s) };
    const out = join(root, "run");
    const code = await main(
      ["run", "--preset", "quick", "--config", cfgFile, "--out", out],
      new Logger(sink, sink),
    );
    expect(code).toBe(2);
    expect(lines.join("")).toContain("search.maxMadds: no network of space 'fmnist' has at most");
    expect(existsSync(out)).toBe(false);
  });

  it("a latency budget or objective in a run's config is refused (search takes the table)", () => {
    expect(() => resolveConfig("quick", { search: { maxLatencyMs: 5 } }, {})).toThrow(
      "search.maxLatencyMs: a latency budget needs a measured latency table, which a run does " +
        "not take; leave it 0 here and pass --max-latency-ms to `nas-cli search --run DIR " +
        "--latency-table FILE` after training",
    );
    expect(() => resolveConfig("quick", { search: { third: "latencyMs" } }, {})).toThrow(
      /^search\.third: latencyMs needs a measured latency table.*--third latencyMs/,
    );
    expect(resolveConfig("quick", { search: { maxLatencyMs: 0 } }, {}).search.third).toBe("params");
  });
});
