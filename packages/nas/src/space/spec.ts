// Search-space description: a JSON-serialisable SpaceSpec, its validator, and
// resolveSpace, which turns a spec into per-layer geometry (channels, stride,
// spatial sizes, residual) that the supernet, the cost model and the search
// all read from one place.
//
// Network shape, NHWC throughout:
//   stem: KxK conv stride S, BN, ReLU6
//   firstBlock (optional): depthwise KxK stride 1, BN, ReLU6, project 1x1, BN
//   stages: each stage has `layers` searchable inverted-bottleneck blocks; the
//     first block of a stage carries the stage stride, the rest stride 1.
//     Block = expand 1x1 + BN + ReLU6, depthwise KxK + BN + ReLU6, [SE],
//     project 1x1 + BN, [residual when stride 1 and inC == outC].
//   head: 1x1 conv to head.width + BN + ReLU6 (absent when width is 0),
//     global average pool, dropout, fully connected to `classes`.
// Spatial size of every conv: OH = floor((H + 2 * (K >> 1) - K) / S) + 1,
// which equals ceil(H / S) for odd K.

import { createHash } from "node:crypto";

export interface ChoiceSpec {
  readonly kernel: number;
  readonly expand: number;
  readonly se: boolean;
}

/**
 * Squeeze width rule: squeeze = roundTo(ratio * baseWidth, divisor), rounded
 * half up to the nearest multiple of `divisor` and never below `divisor`.
 * baseWidth is the expanded width ("expanded") or the block input ("input").
 */
export interface SeSpec {
  readonly ratio: number;
  readonly base: "expanded" | "input";
  readonly divisor: number;
}

export interface SpaceSpec {
  readonly name: string;
  readonly input: {
    readonly height: number;
    readonly width: number;
    readonly channels: number;
  };
  readonly classes: number;
  readonly stem: {
    readonly width: number;
    readonly kernel: number;
    readonly stride: number;
  };
  /** Depthwise-separable block, expansion 1, stride 1; null for none. */
  readonly firstBlock: { readonly width: number; readonly kernel: number } | null;
  readonly stages: readonly {
    readonly width: number;
    readonly layers: number;
    readonly stride: number;
  }[];
  /** The same candidate list for every searchable layer; order is the index. */
  readonly choices: readonly ChoiceSpec[];
  /** Required when any choice has se. */
  readonly se: SeSpec | null;
  /** 1x1 conv width (0 = none), then GAP, dropout, FC. */
  readonly head: { readonly width: number; readonly dropout: number };
  /** PyTorch convention: running = (1 - momentum) * running + momentum * batch. */
  readonly bn: { readonly momentum: number; readonly eps: number };
}

export interface LayerGeom {
  /** Position among searchable layers, 0-based. */
  readonly index: number;
  /** Stable 1-based label, "stage2.block1"; the fixed first block is "first". */
  readonly label: string;
  /** Index into spec.stages, 0-based (-1 for the fixed first block). */
  readonly stage: number;
  readonly inC: number;
  readonly outC: number;
  readonly stride: number;
  readonly inH: number;
  readonly inW: number;
  readonly outH: number;
  readonly outW: number;
  readonly residual: boolean;
}

export interface ConvGeom {
  readonly inC: number;
  readonly outC: number;
  readonly stride: number;
  readonly kernel: number;
  readonly inH: number;
  readonly inW: number;
  readonly outH: number;
  readonly outW: number;
}

/** The fixed first block: LayerGeom with index -1 plus its kernel. */
export interface FirstBlockGeom extends LayerGeom {
  readonly kernel: number;
}

export interface HeadGeom {
  /** Channels entering the head (last block's outC). */
  readonly inC: number;
  /** 1x1 conv width; 0 when there is no head conv. */
  readonly width: number;
  readonly classes: number;
  /** Spatial size of the final feature map, before pooling. */
  readonly H: number;
  readonly W: number;
  /** Features entering the FC: width, or inC when width is 0. */
  readonly fcIn: number;
}

export interface ResolvedSpace {
  readonly spec: SpaceSpec;
  readonly stem: ConvGeom;
  readonly firstBlock: FirstBlockGeom | null;
  readonly layers: readonly LayerGeom[];
  readonly head: HeadGeom;
  /** Choice tokens in choice order, e.g. "k3e6" or "k3e6s". */
  readonly tokens: readonly string[];
  /** 16 hex chars of sha256 over the canonical JSON of the spec. */
  readonly signature: string;
}

/** Output size of a KxK conv with padding K >> 1 and stride S. */
export function convOut(size: number, kernel: number, stride: number): number {
  return Math.floor((size + 2 * (kernel >> 1) - kernel) / stride) + 1;
}

export function expandedWidth(inC: number, expand: number): number {
  return inC * expand;
}

/** Squeeze channels of the SE block of a layer; see SeSpec for the rule. */
export function seWidth(spec: SpaceSpec, inC: number, expandedC: number): number {
  if (spec.se === null) {
    throw new Error(`seWidth: space '${spec.name}' has no se rule`);
  }
  const { ratio, base, divisor } = spec.se;
  const raw = ratio * (base === "expanded" ? expandedC : inC);
  const rounded = Math.floor(raw / divisor + 0.5) * divisor;
  return Math.max(divisor, rounded);
}

/** Canonical token of a choice: "k<kernel>e<expand>", plus "s" with SE. */
export function choiceToken(choice: ChoiceSpec): string {
  return `k${choice.kernel}e${choice.expand}${choice.se ? "s" : ""}`;
}

// ---------------------------------------------------------------------------
// Validation

class SpecError extends Error {}

function fail(path: string, message: string): never {
  throw new SpecError(`${path === "" ? "(root)" : path}: ${message}`);
}

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (v === undefined) return "undefined";
  return JSON.stringify(v) ?? String(v);
}

function obj(v: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    fail(path, `must be an object, got ${show(v)}`);
  }
  const rec = v as Record<string, unknown>;
  for (const k of Object.keys(rec)) {
    if (!keys.includes(k)) fail(join(path, k), `unknown field; known: ${keys.join(", ")}`);
  }
  for (const k of keys) {
    if (!(k in rec)) fail(join(path, k), "missing");
  }
  return rec;
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

function int(v: unknown, path: string, min: number): number {
  if (typeof v !== "number" || !Number.isInteger(v)) {
    fail(path, `must be an integer, got ${show(v)}`);
  }
  if (v < min) fail(path, `must be >= ${min}, got ${v}`);
  return v;
}

// A searchable block always has its expand 1x1 conv and BN (the supernet
// builds and trains one per choice); expansion 1 without it exists only as
// the fixed first block, so a choice of 1 would cost less than it runs.
function searchableExpand(v: unknown, path: string): number {
  if (typeof v === "number" && Number.isInteger(v) && v < 2) {
    fail(
      path,
      `must be >= 2, got ${v} (a searchable block always has its expand conv; ` +
        `expansion 1 exists only as the fixed firstBlock)`,
    );
  }
  return int(v, path, 2);
}

function oddKernel(v: unknown, path: string): number {
  const k = int(v, path, 1);
  if (k % 2 === 0) fail(path, `must be odd, got ${k}`);
  return k;
}

function stride(v: unknown, path: string): number {
  if (v !== 1 && v !== 2) fail(path, `must be 1 or 2, got ${show(v)}`);
  return v;
}

function num(v: unknown, path: string, lo: number, hi: number, loOpen: boolean): number {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    fail(path, `must be a number, got ${show(v)}`);
  }
  const below = loOpen ? v <= lo : v < lo;
  if (below || v > hi) {
    fail(path, `must be in ${loOpen ? "(" : "["}${lo}, ${hi}], got ${v}`);
  }
  return v;
}

function validateChoices(v: unknown): ChoiceSpec[] {
  if (!Array.isArray(v) || v.length === 0) {
    fail("choices", `must be a non-empty array, got ${show(v)}`);
  }
  const seen = new Map<string, number>();
  return v.map((c, i) => {
    const p = `choices[${i}]`;
    const r = obj(c, p, ["kernel", "expand", "se"]);
    if (typeof r.se !== "boolean") fail(`${p}.se`, `must be a boolean, got ${show(r.se)}`);
    const choice = {
      kernel: oddKernel(r.kernel, `${p}.kernel`),
      expand: searchableExpand(r.expand, `${p}.expand`),
      se: r.se,
    };
    const token = choiceToken(choice);
    const prev = seen.get(token);
    if (prev !== undefined) fail(p, `duplicates choices[${prev}] (${token})`);
    seen.set(token, i);
    return Object.freeze(choice);
  });
}

function validateStages(v: unknown): SpaceSpec["stages"] {
  if (!Array.isArray(v) || v.length === 0) {
    fail("stages", `must be a non-empty array, got ${show(v)}`);
  }
  return v.map((s, i) => {
    const p = `stages[${i}]`;
    const r = obj(s, p, ["width", "layers", "stride"]);
    return Object.freeze({
      width: int(r.width, `${p}.width`, 1),
      layers: int(r.layers, `${p}.layers`, 1),
      stride: stride(r.stride, `${p}.stride`),
    });
  });
}

function validateSe(v: unknown, needed: boolean): SeSpec | null {
  if (v === null) {
    if (needed) fail("se", "required (some choices have se: true), got null");
    return null;
  }
  const r = obj(v, "se", ["ratio", "base", "divisor"]);
  if (r.base !== "expanded" && r.base !== "input") {
    fail("se.base", `must be "expanded" or "input", got ${show(r.base)}`);
  }
  return Object.freeze({
    ratio: num(r.ratio, "se.ratio", 0, 1, true),
    base: r.base,
    divisor: int(r.divisor, "se.divisor", 1),
  });
}

/**
 * Checks a parsed JSON value against SpaceSpec and returns a frozen copy.
 * Throws an Error whose message starts with the bad field's path, for
 * example "stages[2].stride: must be 1 or 2, got 3". Unknown fields are errors.
 */
export function validateSpace(json: unknown): SpaceSpec {
  const keys = [
    "name",
    "input",
    "classes",
    "stem",
    "firstBlock",
    "stages",
    "choices",
    "se",
    "head",
    "bn",
  ];
  const r = obj(json, "", keys);
  if (typeof r.name !== "string" || r.name.length === 0) {
    fail("name", `must be a non-empty string, got ${show(r.name)}`);
  }
  const inp = obj(r.input, "input", ["height", "width", "channels"]);
  const stem = obj(r.stem, "stem", ["width", "kernel", "stride"]);
  const fb = r.firstBlock === null ? null : obj(r.firstBlock, "firstBlock", ["width", "kernel"]);
  const head = obj(r.head, "head", ["width", "dropout"]);
  const bn = obj(r.bn, "bn", ["momentum", "eps"]);
  const choices = validateChoices(r.choices);

  const spec: SpaceSpec = {
    name: r.name,
    input: Object.freeze({
      height: int(inp.height, "input.height", 1),
      width: int(inp.width, "input.width", 1),
      channels: int(inp.channels, "input.channels", 1),
    }),
    classes: int(r.classes, "classes", 1),
    stem: Object.freeze({
      width: int(stem.width, "stem.width", 1),
      kernel: oddKernel(stem.kernel, "stem.kernel"),
      stride: stride(stem.stride, "stem.stride"),
    }),
    firstBlock:
      fb === null
        ? null
        : Object.freeze({
            width: int(fb.width, "firstBlock.width", 1),
            kernel: oddKernel(fb.kernel, "firstBlock.kernel"),
          }),
    stages: Object.freeze(validateStages(r.stages)),
    choices: Object.freeze(choices),
    se: validateSe(
      r.se,
      choices.some((c) => c.se),
    ),
    head: Object.freeze({
      width: int(head.width, "head.width", 0),
      dropout: num(head.dropout, "head.dropout", 0, 0.99, false),
    }),
    bn: Object.freeze({
      momentum: num(bn.momentum, "bn.momentum", 0, 1, true),
      eps: num(bn.eps, "bn.eps", 0, 1, true),
    }),
  };
  return Object.freeze(spec);
}

// ---------------------------------------------------------------------------
// Resolution

/** JSON with object keys sorted, so equal specs give equal text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (typeof v === "object" && v !== null) {
    const rec = v as Record<string, unknown>;
    const parts = Object.keys(rec)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(rec[k])}`);
    return `{${parts.join(",")}}`;
  }
  return JSON.stringify(v);
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

function resolveStem(spec: SpaceSpec): ConvGeom {
  const { height: inH, width: inW, channels: inC } = spec.input;
  const { width: outC, kernel, stride: s } = spec.stem;
  const outH = convOut(inH, kernel, s);
  const outW = convOut(inW, kernel, s);
  return Object.freeze({ inC, outC, stride: s, kernel, inH, inW, outH, outW });
}

function resolveFirst(spec: SpaceSpec, stem: ConvGeom): FirstBlockGeom | null {
  if (spec.firstBlock === null) return null;
  const { width: outC, kernel } = spec.firstBlock;
  const H = stem.outH;
  const W = stem.outW;
  return Object.freeze({
    index: -1,
    label: "first",
    stage: -1,
    kernel,
    inC: stem.outC,
    outC,
    stride: 1,
    inH: H,
    inW: W,
    outH: H,
    outW: W,
    residual: stem.outC === outC,
  });
}

function resolveLayers(spec: SpaceSpec, C0: number, H0: number, W0: number): LayerGeom[] {
  const layers: LayerGeom[] = [];
  let [C, H, W] = [C0, H0, W0];
  spec.stages.forEach((st, s) => {
    for (let b = 0; b < st.layers; b++) {
      const S = b === 0 ? st.stride : 1;
      // Spatial size is kernel-independent for odd K with padding K >> 1.
      const OH = convOut(H, 3, S);
      const OW = convOut(W, 3, S);
      layers.push(
        Object.freeze({
          index: layers.length,
          label: `stage${s + 1}.block${b + 1}`,
          stage: s,
          inC: C,
          outC: st.width,
          stride: S,
          inH: H,
          inW: W,
          outH: OH,
          outW: OW,
          residual: S === 1 && C === st.width,
        }),
      );
      [C, H, W] = [st.width, OH, OW];
    }
  });
  return layers;
}

/** Per-layer geometry of a validated spec. */
export function resolveSpace(spec: SpaceSpec): ResolvedSpace {
  const stem = resolveStem(spec);
  const firstBlock = resolveFirst(spec, stem);
  const C0 = firstBlock?.outC ?? stem.outC;
  const layers = resolveLayers(spec, C0, stem.outH, stem.outW);

  const last = layers[layers.length - 1];
  const head: HeadGeom = Object.freeze({
    inC: last.outC,
    width: spec.head.width,
    classes: spec.classes,
    H: last.outH,
    W: last.outW,
    fcIn: spec.head.width > 0 ? spec.head.width : last.outC,
  });
  return Object.freeze({
    spec,
    stem,
    firstBlock,
    layers: Object.freeze(layers),
    head,
    tokens: Object.freeze(spec.choices.map(choiceToken)),
    signature: sha256Hex(canonicalJson(spec)).slice(0, 16),
  });
}
