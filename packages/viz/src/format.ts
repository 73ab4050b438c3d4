// Fixed-precision number formatting and HTML escaping for the report.
// Every number the report prints or charts goes through one of these, so
// the same records always give byte-identical HTML.

/** Escapes text for HTML element content and double-quoted attributes. */
export function esc(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** `v` with `digits` decimals; non-finite values print as an en dash. */
export function fixed(v: number | null | undefined, digits: number): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const s = v.toFixed(digits);
  // -0.00 and 0.00 are the same number to a reader.
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}

/** A fraction in [0, 1] as a percentage with `digits` decimals. */
export function pct(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined ? "–" : `${fixed(100 * v, digits)}%`;
}

/** `v` rounded to `digits` decimals, as a number (for chart data). */
export function round(v: number, digits: number): number {
  if (!Number.isFinite(v)) return v;
  const r = Number(v.toFixed(digits));
  return Object.is(r, -0) ? 0 : r;
}

/** An integer with thin grouping: 1234567 -> "1,234,567". */
export function int(v: number): string {
  if (!Number.isFinite(v)) return "–";
  return Math.round(v)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Millions with `digits` decimals: 12345678 -> "12.35 M". */
export function millions(v: number, digits = 2): string {
  return `${fixed(v / 1e6, digits)} M`;
}

/** Bytes as MiB with one decimal. */
export function mib(bytes: number): string {
  return `${fixed(bytes / 2 ** 20, 1)} MiB`;
}
