// `nas-cli rank`: being written (see the issue tracker); fails loudly until then.

import type { Logger } from "@fairnas/kernels";

export async function rankCommand(args: string[], log: Logger): Promise<void> {
  void args;
  void log;
  throw new Error("nas-cli rank is not implemented yet");
}
