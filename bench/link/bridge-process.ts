// The serial bridge in a process of its own, so that the link bench can read its RSS and CPU
// time from /proc: `node --import tsx bench/link/bridge-process.ts '<BridgeOptions as JSON>'`.
// Prints {"ready":true} once the bridge has started; stops on SIGTERM, or when its stdin ends
// (the bench died), and exits.
import { startBridge, type BridgeOptions } from "../../src/bridge/index.js";

const options = JSON.parse(process.argv[2] ?? "{}") as BridgeOptions;
const bridge = await startBridge({ ...options, log: (level, message) => level !== "info" && process.stderr.write(`bridge ${level}: ${message}\n`) });
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void bridge.stop().finally(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.stdin.once("end", stop);
process.stdin.resume();
