// The help of each command against the options the command really parses:
// `parse` is replaced by a stub that records the options object it is
// handed and stops the command there, so no data or device is touched.

import { describe, expect, it, vi } from "vitest";
import { Logger, type Sink } from "@fairnas/kernels";
import { commandHelp, COMMANDS, USAGE } from "./help.ts";
import { main } from "./main.ts";

type Recorded = Record<string, { type: string; short?: string }>;

const seen = vi.hoisted(() => ({ options: null as Recorded | null }));

vi.mock("./args.ts", async (importOriginal) => {
  const actual = await importOriginal<typeof import("./args.ts")>();
  return {
    ...actual,
    parse: (_args: string[], options: Recorded) => {
      seen.options = options;
      throw new actual.UsageError("options recorded");
    },
  };
});

/** A logger that drops what it prints. */
function quiet(): Logger {
  const sink = { write: () => true } as unknown as Sink;
  return new Logger(sink, sink);
}

/** The options object `nas-cli <name>` hands to parse. */
async function parsedOptions(name: string): Promise<Recorded> {
  const sub = name === "latency" ? ["build"] : name === "bench" ? ["kernels"] : [];
  seen.options = null;
  await main([name, ...sub], quiet());
  expect(seen.options, `${name} parsed no options`).not.toBeNull();
  return seen.options!;
}

describe("help of each command", () => {
  for (const name of Object.keys(COMMANDS)) {
    it(`${name}: the options in its help are exactly the options it parses`, async () => {
      const options = await parsedOptions(name);
      const text = commandHelp(name);
      expect(Object.keys(COMMANDS[name]!.options).sort()).toEqual(Object.keys(options).sort());
      // Every flag written anywhere in the text is one of them, and each is written.
      const written = new Set([...text.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1]));
      expect([...written].sort()).toEqual(Object.keys(options).sort());
      for (const [key, o] of Object.entries(options))
        if (o.short) expect(text).toContain(`-${o.short}, --${key}`);
    });
  }

  it("every line fits in 100 columns", () => {
    const all = [USAGE, ...Object.keys(COMMANDS).map(commandHelp)].join("\n");
    for (const line of all.split("\n")) expect(line.length, line).toBeLessThanOrEqual(100);
  });

  it("the command list names every command and how to get its options", () => {
    for (const name of Object.keys(COMMANDS)) expect(USAGE).toMatch(new RegExp(`^  ${name} `, "m"));
    expect(USAGE).toContain("`nas-cli <command> --help`");
    expect(USAGE).not.toMatch(/README/);
  });
});
