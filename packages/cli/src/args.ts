// Flag parsing shared by the commands; bad flags and stray arguments
// become UsageErrors.

import { parseArgs, type ParseArgsConfig } from "node:util";

export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Parses `args` against `options`. A command takes at most `positionals`
 * bare arguments (none unless given, e.g. 1 for `report RUN_DIR`); the
 * first one past that is refused by name rather than silently ignored.
 */
export function parse<O extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: O,
  positionals = 0,
) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const extra = parsed.positionals[positionals];
  if (extra !== undefined) {
    const takes =
      positionals === 0
        ? "this command takes only --options"
        : `this command takes at most ${positionals} argument(s) besides --options`;
    throw new UsageError(`unexpected argument '${extra}': ${takes}`);
  }
  return parsed;
}

export function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`--${name} must be a non-negative integer, got '${v}'`);
  return n;
}
