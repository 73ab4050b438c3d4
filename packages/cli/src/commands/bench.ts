// `nas-cli bench`: being written (see the issue tracker); fails loudly until then.

import type { Logger } from "@fairnas/kernels";

export async function benchCommand(args: string[], log: Logger): Promise<void> {
  void args;
  void log;
  throw new Error("nas-cli bench is not implemented yet");
}
