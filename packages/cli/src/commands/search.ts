// `nas-cli search`: being written (see the issue tracker); fails loudly until then.

import type { Logger } from "@fairnas/kernels";

export async function searchCommand(args: string[], log: Logger): Promise<void> {
  void args;
  void log;
  throw new Error("nas-cli search is not implemented yet");
}
