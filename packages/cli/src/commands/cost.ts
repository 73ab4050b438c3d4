// `nas-cli cost`: multiply-adds and parameters of one network, total and
// per layer, under the convention stated in COST_CONVENTION.

import type { Logger } from "@fairnas/kernels";
import { COST_CONVENTION, costOf, getSpace, parseArch, resolveSpace } from "@fairnas/nas";
import { parse, UsageError } from "../args.ts";

export function costCommand(args: string[], log: Logger): void {
  const { values: v } = parse(args, {
    space: { type: "string" },
    arch: { type: "string" },
    json: { type: "boolean" },
  });
  if (!v.space)
    throw new UsageError("cost needs --space SPACE (a preset name or a space JSON file)");
  if (!v.arch) throw new UsageError("cost needs --arch ARCH");
  const space = resolveSpace(getSpace(v.space));
  const arch = parseArch(space, v.arch);
  const c = costOf(space, arch);
  if (v.json) {
    process.stdout.write(
      `${JSON.stringify({ madds: c.madds, params: c.params, paramsWithBn: c.paramsWithBn, layers: c.layers })}\n`,
    );
    return;
  }
  const w = Math.max(5, ...c.layers.map((l) => l.name.length));
  log.info(
    `${"layer".padEnd(w)}  ${"MAdds".padStart(13)}  ${"params".padStart(10)}  ${"params+BN".padStart(10)}`,
  );
  for (const l of c.layers) {
    log.info(
      `${l.name.padEnd(w)}  ${l.madds.toLocaleString("en-US").padStart(13)}  ${l.params.toLocaleString("en-US").padStart(10)}  ${l.paramsWithBn.toLocaleString("en-US").padStart(10)}`,
    );
  }
  log.info(
    `${"total".padEnd(w)}  ${c.madds.toLocaleString("en-US").padStart(13)}  ${c.params.toLocaleString("en-US").padStart(10)}  ${c.paramsWithBn.toLocaleString("en-US").padStart(10)}`,
  );
  log.info("");
  log.info(COST_CONVENTION);
}
