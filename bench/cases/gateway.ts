// `edgews gateway` under a soak (BENCH.md `gateway`): 32 simulated devices × 10 msg/s through
// the gateway for 10 minutes (--quick: 30 s); RSS trend and peak, event-loop lag p99, and
// messages lost, and the floor under them (floor.ts: idle node, aedes + LevelDB, the gateway
// without devices). One run serves every case (bench/gateway/soak.ts); the RSS plot is written to
// .bench-results/gateway-soak.svg.
import { SOAK_LOAD, gatewaySoak, writePlot, type SoakResult } from "../gateway/soak.js";
import type { Comparison } from "../measure.js";
import type { BenchSpec, CaseSpec } from "../types.js";

let plotted = false;

const soakCase = (name: string, unit: string, pick: (result: SoakResult) => number): CaseSpec => ({
  name,
  baselines: ["none"],
  unit,
  measure: async (_baseline, env): Promise<Comparison> => {
    const result = await gatewaySoak(env.quick);
    if (!plotted) {
      plotted = true;
      process.stderr.write(`gateway soak: RSS plot in ${writePlot(result.svg)}\n`);
    }
    const value = pick(result);
    return { ours: value, theirs: 1, ratio: { median: value, p25: value, p75: value }, repeats: 1 };
  },
});

export const gateway: BenchSpec = {
  name: "gateway",
  unit: "per row",
  divisor: 1,
  header: `edgews gateway (dist/) bridging ${SOAK_LOAD.devices} simulated devices (edgews sim, another process) × ${SOAK_LOAD.rate} msg/s, 10 min (--quick: 30 s); baseline none: ratio = ours; all LOWER is better (targets: slope ≈ 0, RSS ≤ 64 MiB, lag p99 < 20 ms, lost 0); floor-*: idle processes with the bin's node flags, measured just before (a bare node; node with aedes and its LevelDB store open; the gateway without devices); lag p99 includes the 10 ms sampling interval`,
  cases: [
    soakCase("soak-rss-slope", "MiB/min", (r) => r.rssSlope),
    soakCase("soak-rss-max", "MiB", (r) => r.rssMax),
    soakCase("soak-lag-p99", "ms", (r) => r.lagP99),
    soakCase("soak-lost", "messages", (r) => r.lost),
    soakCase("floor-node-rss", "MiB", (r) => r.floors.node.rssMiB),
    soakCase("floor-aedes-level-rss", "MiB", (r) => r.floors.brokerStore.rssMiB),
    soakCase("floor-gateway-idle-rss", "MiB", (r) => r.floors.gatewayIdle.rssMiB),
    soakCase("floor-node-lag-p99", "ms", (r) => r.floors.node.lagP99Ms),
    soakCase("floor-aedes-level-lag-p99", "ms", (r) => r.floors.brokerStore.lagP99Ms),
    soakCase("floor-gateway-idle-lag-p99", "ms", (r) => r.floors.gatewayIdle.lagP99Ms),
  ],
};
