// Debug switches, each with a default and a one-line description. Set from
// the environment as NAS_FLAGS="dumpWgsl,validateEachDispatch".

export interface FlagSpec {
  readonly default: boolean;
  readonly description: string;
}

export const FLAG_SPECS = {
  dumpWgsl: {
    default: false,
    description: "print every WGSL module with its constants when first compiled",
  },
  validateEachDispatch: {
    default: false,
    description: "wrap each dispatch in an error scope so errors name the exact kernel",
  },
  hardwareVariants: {
    default: false,
    description: "pick the kernel variants meant for GPUs even on a software adapter (A/B runs)",
  },
  noSleepBeforeAwait: {
    default: false,
    description: "await GPU completion at once instead of sleeping through most of it",
  },
} as const satisfies Record<string, FlagSpec>;

export type FlagName = keyof typeof FLAG_SPECS;

function parse(env: string | undefined): Record<FlagName, boolean> {
  const on = new Set(
    (env ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
  for (const name of on) {
    if (!(name in FLAG_SPECS)) {
      throw new Error(
        `unknown flag '${name}' in NAS_FLAGS; known: ${Object.keys(FLAG_SPECS).join(", ")}`,
      );
    }
  }
  const flags = {} as Record<FlagName, boolean>;
  for (const name of Object.keys(FLAG_SPECS) as FlagName[]) {
    flags[name] = on.has(name) || FLAG_SPECS[name].default;
  }
  return flags;
}

export const flags: Record<FlagName, boolean> = parse(process.env.NAS_FLAGS);
