// The gateway soak (BENCH.md `gateway`): `edgews gateway` (dist/, as users run it) bridging 32
// simulated devices at 10 readings/s each (`edgews sim`, a process of its own, so that the
// figures are the gateway's), a subscriber to everything (MQTT.js over TCP), and /metrics
// sampled throughout: RSS (its slope after a warm-up, and its peak), event-loop lag p99 per
// sample window, and what was lost. The RSS curve is written as an SVG beside the results.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import { metricValue, scrape, scratchDir, startGatewayProcess } from "../../test/support/gateway.js";
import { spawnTsx } from "../../test/support/processes.js";
import { ensureSocat } from "../../test/support/pty.js";
import { measureFloors, type Floors } from "./floor.js";

export const SOAK_LOAD = { devices: 32, rate: 10 };
const TIMING = { full: { seconds: 600, warmup: 60, sampleEvery: 5, floorSettle: 10 }, quick: { seconds: 30, warmup: 10, sampleEvery: 2, floorSettle: 4 } };
const MIB = 1024 * 1024;

export interface SoakSample {
  seconds: number;
  rssMiB: number;
  lagP99Ms: number;
}

export interface SoakResult {
  /** Least-squares slope of RSS after the warm-up, MiB per minute. */
  rssSlope: number;
  rssMax: number;
  /** The worst of the per-window p99s after the warm-up (prom-client resets its histogram at each scrape). */
  lagP99: number;
  /**
   * Messages the broker forwarded to the subscriber that it did not get (counted once the
   * devices have stopped and everything settled), plus what the bridge and the broker dropped.
   */
  lost: number;
  samples: SoakSample[];
  svg: string;
  /** The same figures of idle processes, measured before the soak (floor.ts). */
  floors: Floors;
}

let running: Promise<SoakResult> | undefined;
const RESULTS_DIR = join(process.cwd(), ".bench-results");

/**
 * One soak per `npm run bench`: each case runs in a child of its own (without --quick), so the
 * first child saves the result under the parent's PID and the other cases' children read it.
 */
export function gatewaySoak(quick: boolean): Promise<SoakResult> {
  const saved = join(RESULTS_DIR, `gateway-soak-of-${process.ppid}.json`);
  running ??= existsSync(saved)
    ? Promise.resolve(JSON.parse(readFileSync(saved, "utf8")) as SoakResult)
    : soak(quick ? TIMING.quick : TIMING.full).then((result) => {
        mkdirSync(RESULTS_DIR, { recursive: true });
        for (const old of readdirSync(RESULTS_DIR).filter((f) => f.startsWith("gateway-soak-of-"))) rmSync(join(RESULTS_DIR, old));
        writeFileSync(saved, JSON.stringify(result));
        return result;
      });
  return running;
}

async function soak(timing: (typeof TIMING)["full"]): Promise<SoakResult> {
  await ensureSocat();
  const floors = await measureFloors(timing.floorSettle);
  for (const [name, floor] of Object.entries(floors)) process.stderr.write(`gateway floor: ${name} idle, RSS ${floor.rssMiB.toFixed(1)} MiB, lag p99 ${floor.lagP99Ms.toFixed(1)} ms\n`);
  const scratch = scratchDir({ "gateway.json": JSON.stringify({ auth: { anonymous: "dashboard" }, log: { level: "warn" } }) });
  const sim = await spawnTsx("src/cli/main.ts", ["sim", "-n", String(SOAK_LOAD.devices), "-r", String(SOAK_LOAD.rate), "--json", "--status", "0"]);
  const ports: string[] = [];
  for (let i = 0; i < SOAK_LOAD.devices; i++) ports.push(JSON.parse((await sim.waitForLine(/^\{"type":"device".*\}$/, 30_000))[0]).path);
  const gateway = await startGatewayProcess(["--config", join(scratch.dir, "gateway.json"), "--state-dir", join(scratch.dir, "state"), ...ports.flatMap((p) => ["--port", p])], {}, { built: true }).catch(async (error: Error) => {
    await sim.kill();
    throw error;
  });
  const subscriber = await mqtt.connectAsync(gateway.mqttUrl!, { reconnectPeriod: 0 });
  try {
    let received = 0;
    subscriber.on("message", () => received++);
    // Read before the only subscriber subscribes: nothing is forwarded meanwhile.
    const first = { forwarded: metricValue(await scrape(gateway.httpUrl), "edgews_broker_messages_out_total"), received: 0 };
    await subscriber.subscribeAsync("edgews/#", { qos: 1 });
    const samples: SoakSample[] = [];
    const started = performance.now();
    while (performance.now() - started < timing.seconds * 1000) {
      await new Promise((resolve) => setTimeout(resolve, timing.sampleEvery * 1000));
      const last = await scrape(gateway.httpUrl);
      const sample = { seconds: (performance.now() - started) / 1000, rssMiB: metricValue(last, "process_resident_memory_bytes") / MIB, lagP99Ms: metricValue(last, "nodejs_eventloop_lag_p99_seconds") * 1000 };
      samples.push(sample);
      process.stderr.write(`gateway soak: ${sample.seconds.toFixed(0)} s, RSS ${sample.rssMiB.toFixed(1)} MiB, lag p99 ${sample.lagP99Ms.toFixed(1)} ms, ${received - first.received} messages received\n`);
    }
    // The devices stop; once what they sent has settled, forwarded and received compare exactly.
    await sim.kill();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const settled = await scrape(gateway.httpUrl);
    const forwarded = metricValue(settled, "edgews_broker_messages_out_total") - first.forwarded;
    const drops = metricValue(settled, "edgews_bridge_drops_total") + metricValue(settled, "edgews_broker_drops_total");
    const lost = Math.max(0, forwarded - (received - first.received)) + drops;
    process.stderr.write(`gateway soak: ${forwarded} forwarded, ${received - first.received} received, ${drops} dropped\n`);
    const steady = samples.filter((s) => s.seconds >= timing.warmup);
    return {
      rssSlope: slope(steady.map((s) => [s.seconds / 60, s.rssMiB])),
      rssMax: Math.max(...samples.map((s) => s.rssMiB)),
      lagP99: Math.max(...steady.map((s) => s.lagP99Ms)),
      lost,
      samples,
      svg: rssPlot(samples, timing.warmup),
      floors,
    };
  } finally {
    subscriber.end(true);
    await gateway.stop();
    await sim.kill();
    scratch.remove();
  }
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

/** RSS (MiB) over time as an SVG line chart, the warm-up shaded. */
export function rssPlot(samples: readonly SoakSample[], warmupSeconds: number): string {
  const [w, h, pad] = [640, 320, 48];
  const maxT = Math.max(1, ...samples.map((s) => s.seconds));
  const maxY = Math.max(64, ...samples.map((s) => s.rssMiB)) * 1.1;
  const x = (t: number) => pad + (t / maxT) * (w - 2 * pad);
  const y = (v: number) => h - pad - (v / maxY) * (h - 2 * pad);
  const line = samples.map((s) => `${x(s.seconds).toFixed(1)},${y(s.rssMiB).toFixed(1)}`).join(" ");
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="12">`,
    `<rect x="${pad}" y="${pad}" width="${(x(Math.min(warmupSeconds, maxT)) - pad).toFixed(1)}" height="${h - 2 * pad}" fill="#eee"/>`,
    `<line x1="${pad}" y1="${y(64)}" x2="${w - pad}" y2="${y(64)}" stroke="#c33" stroke-dasharray="4"/><text x="${w - pad - 70}" y="${y(64) - 4}" fill="#c33">64 MiB target</text>`,
    `<polyline points="${line}" fill="none" stroke="#36c" stroke-width="2"/>`,
    `<line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#000"/><line x1="${pad}" y1="${pad}" x2="${pad}" y2="${h - pad}" stroke="#000"/>`,
    `<text x="${w / 2}" y="${h - 12}" text-anchor="middle">seconds (edgews gateway, ${SOAK_LOAD.devices} devices × ${SOAK_LOAD.rate} msg/s; shaded: warm-up)</text>`,
    `<text x="12" y="${pad - 12}">RSS MiB (0–${maxY.toFixed(0)})</text>`,
    `<text x="${pad}" y="${h - pad + 16}">0</text><text x="${w - pad}" y="${h - pad + 16}" text-anchor="end">${maxT.toFixed(0)}</text>`,
    "</svg>",
  ].join("\n");
}

/** Writes the plot to .bench-results/gateway-soak.svg; returns the path. */
export function writePlot(svg: string): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, "gateway-soak.svg");
  writeFileSync(path, svg);
  return path;
}
