// Flag parsing shared by the commands; bad flags and stray arguments
// become UsageErrors that name the flag.

import { parseArgs, type ParseArgsConfig } from "node:util";

export class UsageError extends Error {
  override name = "UsageError";
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * Checks the flags one by one before the strict parse, so that each
 * refusal names its flag: unknown options, a string option without a
 * value or with an empty one, a value to a boolean flag, and an option
 * given twice (the last one would otherwise win silently).
 */
function checkTokens(args: string[], options: Options): void {
  const { tokens } = parseArgs({
    args,
    options,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const seen = new Set<string>();
  for (const t of tokens) {
    if (t.kind !== "option") continue;
    const flag = t.rawName.startsWith("--") ? t.rawName : `${t.rawName} (--${t.name})`;
    const type = Object.hasOwn(options, t.name) ? options[t.name]!.type : undefined;
    if (type === undefined) throw new UsageError(`unknown option '${t.rawName}'`);
    if (seen.has(t.name)) throw new UsageError(`${flag} is given twice; give it once`);
    seen.add(t.name);
    if (type === "boolean") {
      if (t.value !== undefined) throw new UsageError(`${flag} takes no value`);
      continue;
    }
    checkValue(flag, t.value, t.inlineValue);
  }
}

/** A string option's value: present, not blank, not an option in disguise. */
function checkValue(flag: string, value: string | undefined, inline: boolean | undefined): void {
  if (value === undefined) throw new UsageError(`${flag} needs a value`);
  if (value.trim() === "") throw new UsageError(`${flag} needs a value, got '${value}' (blank)`);
  // `--seed -5`: taken as a value only when written `--seed=-5`.
  if (!inline && value.startsWith("-")) {
    if (/^-\d/.test(value))
      throw new UsageError(`${flag} needs a non-negative value, got '${value}'`);
    throw new UsageError(
      `${flag} needs a value, but '${value}' looks like an option ` +
        `(write ${flag}=${value} if it is the value)`,
    );
  }
}

/**
 * Parses `args` against `options`. A command takes at most `positionals`
 * bare arguments (none unless given, e.g. 1 for `report RUN_DIR`); the
 * first one past that is refused by name rather than silently ignored.
 */
export function parse<O extends Options>(args: string[], options: O, positionals = 0) {
  checkTokens(args, options);
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    // Whatever checkTokens let through; Node's text is the best we have.
    throw new UsageError((e as Error).message);
  }
  const blank = parsed.positionals.find((a) => a.trim() === "");
  if (blank !== undefined) throw new UsageError(`a blank argument ('${blank}'); name a path`);
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

/** A non-negative integer flag: digits only (surrounding blanks ignored). */
export function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v.trim());
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n))
    throw new UsageError(`--${name} must be a non-negative integer, got '${v}'`);
  return n;
}

/** A positive-integer flag of at least `min`, refused by name when smaller. */
export function intAtLeast(name: string, v: string | undefined, min: number): number | undefined {
  const n = int(name, v);
  if (n !== undefined && n < min)
    throw new UsageError(`--${name} must be at least ${min}, got ${n}`);
  return n;
}
