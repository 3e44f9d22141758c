// Reconnecting after a broker outage, ours (default reconnect policy: see src/mqtt/backoff.ts) vs
// MQTT.js (default reconnectPeriod, 1 s). reconnect-after-outage: one client per side, a real
// Mosquitto stopped for a while and started again; ms from the broker accepting connections
// again to the client's 'connect'. herd-1000-peak: 1,000 simulated clients that lost the broker
// at the same moment, each retrying on its side's schedule (ours: our Backoff on a simulated
// clock; MQTT.js: every reconnectPeriod, as it documents); the most connects in any 100 ms once
// the broker is back, the load a herd puts on it.
import type { MqttClient as MqttJsClient } from "mqtt";
import { Backoff } from "../../src/mqtt/backoff.js";
import type { MqttClient as OurClient } from "../../src/mqtt/index.js";
import { compareCosts } from "../measure.js";
import type { CaseSpec, Env } from "../types.js";

type Side = "ours" | "theirs";

/** How long the broker stays down: a restart or deploy, well under a minute. */
const OUTAGE_MS = { full: 10_000, quick: 1_000 };
const OUTAGE_REPEATS = { full: 3, quick: 1 };
const HERD = 1000;
const HERD_WINDOW_MS = 100;
const HERD_REPEATS = { full: 11, quick: 1 };
/** MQTT.js's default reconnectPeriod. */
const MQTTJS_RECONNECT_PERIOD_MS = 1000;
const CONNECT_TIMEOUT_MS = 60_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A connected client of `side` with its library's default reconnect policy; resolves with the client and a way to await its next 'connect'. */
async function connectSide(side: Side, url: string): Promise<{ nextConnect(): Promise<void>; end(): Promise<void> }> {
  let client: OurClient | MqttJsClient;
  if (side === "ours") {
    const { connect } = await import("../../src/mqtt/index.js");
    client = connect(url, { clientId: `reconnect-ours-${process.pid}` });
  } else {
    const mqtt = await import("mqtt");
    client = mqtt.connect(url, { clientId: `reconnect-theirs-${process.pid}`, connectTimeout: CONNECT_TIMEOUT_MS });
  }
  const events = client as unknown as { on(event: "error", listener: () => void): void; once(event: "connect", listener: () => void): void };
  events.on("error", () => {}); // refused connects while the broker is down are expected
  const nextConnect = () =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${side}: no reconnect within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      events.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  await nextConnect();
  return { nextConnect, end: async () => void (await (side === "ours" ? (client as OurClient).end(true) : (client as MqttJsClient).endAsync(true))) };
}

const reconnectCase: CaseSpec = {
  name: "reconnect-after-outage",
  baselines: ["mqtt"],
  unit: "ms",
  measure: async (_baseline, env: Env) => {
    const { startMosquitto } = await import("../../test/support/mosquitto.js");
    const broker = await startMosquitto();
    const outage = env.quick ? OUTAGE_MS.quick : OUTAGE_MS.full;
    try {
      return await compareCosts(async (side) => {
        const client = await connectSide(side, broker.url);
        try {
          await broker.stop();
          await sleep(outage);
          const reconnected = client.nextConnect();
          await broker.restart();
          const back = performance.now();
          await reconnected;
          return performance.now() - back;
        } finally {
          await client.end();
        }
      }, env.quick ? OUTAGE_REPEATS.quick : OUTAGE_REPEATS.full);
    } finally {
      await broker.dispose();
    }
  },
};

/** When a client that lost the broker at 0 first tries after `back`: ours on our Backoff, on a simulated clock. */
function ourConnectTime(back: number): number {
  let now = 0;
  const backoff = new Backoff({ now: () => now });
  for (;;) {
    now += backoff.next();
    if (now >= back) return now;
  }
}

/** MQTT.js retries every reconnectPeriod after the close, without jitter. */
const theirConnectTime = (back: number): number => Math.ceil(back / MQTTJS_RECONNECT_PERIOD_MS) * MQTTJS_RECONNECT_PERIOD_MS;

/** The most of `times` (ms) within any window of HERD_WINDOW_MS. */
function peak(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let start = 0, end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= HERD_WINDOW_MS) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

const herdCase: CaseSpec = {
  name: `herd-${HERD}-peak`,
  baselines: ["mqtt"],
  unit: "connects",
  measure: (_baseline, env) =>
    compareCosts(async (side) => {
      const back = (env.quick ? OUTAGE_MS.quick : OUTAGE_MS.full) + 0.5;
      const connectTime = side === "ours" ? ourConnectTime : theirConnectTime;
      return peak(Array.from({ length: HERD }, () => connectTime(back)));
    }, env.quick ? HERD_REPEATS.quick : HERD_REPEATS.full),
};

export const reconnectCases: readonly CaseSpec[] = [reconnectCase, herdCase];

export const reconnectSummary = [
  `reconnect-after-outage: one client per side with its default reconnect policy, Mosquitto stopped for ${OUTAGE_MS.full / 1000} s (quick: ${OUTAGE_MS.quick / 1000} s) and restarted; ms from the broker accepting connections to the client's 'connect'. Lower is better.`,
  `herd-${HERD}-peak: ${HERD} simulated clients that lost the broker at the same moment, the broker back after the same outage; the most first connects in any ${HERD_WINDOW_MS} ms (ours: each on our Backoff with its own randomness; MQTT.js: every reconnectPeriod, ${MQTTJS_RECONNECT_PERIOD_MS} ms, no jitter). Lower is better.`,
];
