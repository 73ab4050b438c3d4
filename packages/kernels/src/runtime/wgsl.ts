// Loads WGSL modules from src/wgsl/ and fills named {{PLACEHOLDERS}} where
// an `override` cannot reach (for example a vector width in a type name).

import { readFileSync } from "node:fs";

const cache = new Map<string, string>();

/** The text of `src/wgsl/<file>`, e.g. wgsl("pwconv.forward.wgsl"). */
export function wgsl(file: string): string {
  let text = cache.get(file);
  if (text === undefined) {
    text = readFileSync(new URL(`../wgsl/${file}`, import.meta.url), "utf8");
    cache.set(file, text);
  }
  return text;
}

/** Replaces every {{NAME}} with `values.NAME`; throws if any is missing or left. */
export function fillTemplate(
  name: string,
  text: string,
  values: Readonly<Record<string, string | number>>,
): string {
  const out = text.replace(/\{\{([A-Z0-9_]+)\}\}/g, (_, key: string) => {
    if (!(key in values)) throw new Error(`${name}: no value for placeholder {{${key}}}`);
    return String(values[key]);
  });
  return out;
}
