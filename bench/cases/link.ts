// The serial link (docs/link-protocol.md): what it costs on the wire, what it carries on a
// 115,200-baud line, what the bridge costs with 32 devices, and what the C device library
// costs a microcontroller. Efficiency comes from src/link's real encodings; goodput from a
// device end and a bridge end on a paced line on the simulator's virtual clock
// (bench/link/goodput.ts); the bridge's figures from a real one on ptys with Mosquitto
// (bench/link/bridge-bench.ts); sizes from firmware-sim/c's own size script.
import { linkEfficiency } from "../../src/link/index.js";
import { BRIDGE_LOAD, BRIDGE_TIMING, bridgeRun, type BridgeWindow } from "../link/bridge-bench.js";
import { cSizes, type CSizes } from "../link/c-size.js";
import { measureGoodput, type GoodputResult } from "../link/goodput.js";
import { TELEMETRY_BYTES } from "../link/telemetry.js";
import type { Comparison } from "../measure.js";
import { median, spread } from "../stats.js";
import type { BenchSpec, CaseSpec } from "../types.js";

const BAUD = 115_200;
/** The error rate of docs/link-protocol.md §3 and of the noise test. */
const NOISY_ERROR_RATE = 1e-4;
/** Seconds of line time per run (after a warm-up) and runs per case: each run is a new seed. */
const GOODPUT = { full: { seconds: 30, warmup: 2, runs: 11 }, quick: { seconds: 2, warmup: 0.5, runs: 1 } };

/** A figure with nothing to compare it with (baseline `none`): theirs is 1, so the ratio is the figure. */
function alone(value: number): Comparison {
  return { ours: value, theirs: 1, ratio: { median: value, p25: value, p75: value }, repeats: 1 };
}

const efficiencyCase = (payloadBytes: number): CaseSpec => ({
  name: `${payloadBytes}B-efficiency`,
  baselines: ["none"],
  unit: "payload/wire",
  measure: async () => alone(linkEfficiency(payloadBytes).efficiency),
});

function describeRuns(name: string, runs: GoodputResult[]): string {
  const sum = (pick: (r: GoodputResult) => number) => runs.reduce((total, r) => total + pick(r), 0);
  const events = sum((r) => Object.values(r.damage.toBridge).reduce((a, b) => a + b, 0) + Object.values(r.damage.toDevice).reduce((a, b) => a + b, 0));
  const rejected = sum((r) => r.bridgeLink.crcErrors + r.bridgeLink.cobsErrors + r.bridgeLink.truncated + r.bridgeLink.oversize);
  return `link ${name}: ${runs.length} run(s), ${sum((r) => r.sent)} messages sent in the measured time, ${sum((r) => r.delivered)} delivered intact, none corrupted; ${events} line fault events, ${rejected} frames rejected by the bridge end`;
}

const goodputCase = (name: string, errorRate: number): CaseSpec => ({
  name,
  baselines: ["line"],
  unit: "B/s",
  measure: async (_baseline, env) => {
    const { runs, ...window } = env.quick ? GOODPUT.quick : GOODPUT.full;
    const results = Array.from({ length: runs }, (_, seed) => measureGoodput({ baud: BAUD, errorRate, seed: seed + 1, ...window }));
    process.stderr.write(`${describeRuns(name, results)}\n`);
    const limit = results[0]!.lineLimit;
    return { ours: median(results.map((r) => r.bytesPerSecond)), theirs: limit, ratio: spread(results.map((r) => r.bytesPerSecond / limit)), repeats: runs };
  },
});

const sizeCase = (name: string, pick: (sizes: CSizes) => number): CaseSpec => ({
  name,
  baselines: ["none"],
  unit: "bytes",
  measure: async () => alone(pick(await cSizes())),
});

const bridgeCase = (name: string, unit: string, pick: (window: BridgeWindow) => number): CaseSpec => ({
  name,
  baselines: ["none"],
  unit,
  measure: async (_baseline, env) => {
    const values = (await bridgeRun(env.quick)).windows.map(pick);
    return { ours: median(values), theirs: 1, ratio: spread(values), repeats: values.length };
  },
});

const DEVICES = `${BRIDGE_LOAD.devices}dev`;

export const link: BenchSpec = {
  name: "link",
  unit: "per row",
  divisor: 1,
  header:
    "the serial link (docs/link-protocol.md); baseline none: theirs = 1, ratio = ours; line: theirs = the line's raw byte rate (115,200 baud 8N1), ratio = the share of it delivered as payload; payload/wire and B/s higher is better; µs, MiB, % of a core and bytes LOWER is better",
  cases: [
    efficiencyCase(16), efficiencyCase(TELEMETRY_BYTES), efficiencyCase(256),
    goodputCase("115200-goodput", 0), goodputCase("115200-goodput-noisy", NOISY_ERROR_RATE),
    bridgeCase("latency-p50", "µs", (w) => w.p50), bridgeCase("latency-p99", "µs", (w) => w.p99),
    bridgeCase(`bridge-rss-${DEVICES}`, "MiB", (w) => w.rssMiB), bridgeCase(`bridge-cpu-${DEVICES}`, "% of a core", (w) => w.cpuPercent),
    sizeCase("c-flash", (s) => s.device.flash), sizeCase("c-flash-library", (s) => s.library.flash), sizeCase("c-ram", (s) => s.context),
  ],
  summary: () => [
    "efficiency: linkEfficiency(n) from src/link's encodings: one message written on its own, best-effort when it fits one packet (16 B, 64 B), else reliable in fragments (256 B); the target is >= 0.85 at 64 B.",
    `goodput: ${TELEMETRY_BYTES}-byte telemetry (best-effort) from a device end (maxPacket 64, window 1) to a bridge end (defaults), sent the moment the device's line is free, on a line paced at ${BAUD / 10} bytes/s each way (${GOODPUT.full.seconds} s of virtual line time per run, --quick ${GOODPUT.quick.seconds} s; one seed per run); counted: payload of the messages delivered intact. -noisy: the simulator's fault injector at ${NOISY_ERROR_RATE} events per byte each way (flips, drops, inserts, bursts).`,
    `latency, bridge-rss, bridge-cpu: ${BRIDGE_LOAD.devices} devices (src/link's device end, maxPacket 64, window 1) each on a socat pty pair sending ${TELEMETRY_BYTES}-byte telemetry ${BRIDGE_LOAD.rate} times a second, the bridge (src/bridge, defaults, MQTT 5) in its own process with a port per device, Mosquitto, and an edgews/mqtt subscriber; latency: the device's write to the subscriber's message event, through the bridge and the broker; rss: the bridge process's peak VmRSS; cpu: its utime + stime over wall time. One figure per window of ${BRIDGE_TIMING.full.window} s (${BRIDGE_TIMING.full.windows} windows after ${BRIDGE_TIMING.full.warmup} s of warm-up; --quick: ${BRIDGE_TIMING.quick.windows} of ${BRIDGE_TIMING.quick.window} s), the median reported. Targets: RSS <= 64 MB.`,
    "c-flash: a typical sensor (firmware-sim/c/size_probe.c) linked bare with --gc-sections; c-flash-library: every object of the library; c-ram: sizeof(ewl_link), the library's only RAM; the library's default sizes (packet 256, message 256), arm-none-eabi-gcc -Os -mcpu=cortex-m0plus -mthumb.",
  ],
};
