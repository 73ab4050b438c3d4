// `nas-cli ablate`: being written (see the issue tracker); fails loudly until then.

import type { Logger } from "@fairnas/kernels";

export async function ablateCommand(args: string[], log: Logger): Promise<void> {
  void args;
  void log;
  throw new Error("nas-cli ablate is not implemented yet");
}
