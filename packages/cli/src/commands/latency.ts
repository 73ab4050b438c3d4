// `nas-cli latency`: being written (see the issue tracker); fails loudly until then.

import type { Logger } from "@fairnas/kernels";

export async function latencyCommand(args: string[], log: Logger): Promise<void> {
  void args;
  void log;
  throw new Error("nas-cli latency is not implemented yet");
}
