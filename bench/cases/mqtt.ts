// MQTT over WebSocket to a real Mosquitto (test/support/mosquitto.ts, a fresh broker per bench
// child, configured never to drop or throttle: no inflight or queue limits, no persistence).
// Ours = edgews/mqtt publisher -> broker -> edgews/mqtt subscriber, theirs = MQTT.js -> broker ->
// MQTT.js (over ws with its native helpers), both MQTT 3.1.1, interleaved on the same broker.
// The memory cases run each measurement in a fresh plain-node process (bench/mqtt-rss-child.mjs)
// that imports the BUILT package (dist/mqtt), what users run.
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import type { MqttClient as MqttJsClient } from "mqtt";
import type { MqttClient as OurClient } from "../../src/mqtt/index.js";
import type { Mosquitto } from "../../test/support/mosquitto.js";
import { asciiText } from "../data.js";
import { reconnectCases, reconnectSummary } from "./mqtt-reconnect.js";
import { compareAsync, compareCosts, networkTiming, type AsyncContender, type Comparison, type Timing } from "../measure.js";
import { quantile } from "../stats.js";
import type { BenchSpec, CaseSpec, Env } from "../types.js";

type Side = "ours" | "theirs";
type QoS = 0 | 1;

const PAYLOAD_BYTES = 64;
/** Publishes outstanding at once: QoS 1 not yet acknowledged, QoS 0 not yet received. */
const WINDOW = 100;
/** Sample length of the full run, ms: network samples need more than the in-memory benches' 20 ms. */
const SAMPLE_MS = 200;
const E2E_MESSAGES = { full: 2000, quick: 50 };
const RSS_REPEATS = { full: 5, quick: 1 };
const OFFLINE_MESSAGES = 10_000;
/**
 * A run fails when nothing moves (no message received, no publish resolved) for this long. Not a
 * deadline for the whole run: with MQTT.js, Mosquitto's WebSocket listener often holds a message
 * for ~100 ms (see the summary), which can stretch a 2000-message e2e run to minutes.
 */
const STALL_TIMEOUT_MS = 5_000;
const CONNECT_TIMEOUT_MS = 10_000;
const CHILD_TIMEOUT_MS = 30_000;
const MIB = 1024 * 1024;

/** Mosquitto must never drop or throttle silently (persistence is off by default in the helper). */
const BROKER_CONFIG = ["max_inflight_messages 0", "max_queued_messages 0", "max_queued_bytes 0", "persistence false", "set_tcp_nodelay true"];

const root = fileURLToPath(new URL("../..", import.meta.url));
const rssChild = join(root, "bench", "mqtt-rss-child.mjs");
const builtEntry = join(root, "dist", "mqtt", "index.js");

// ---- one client, either library

/** What this file needs of a client; both libraries are adapted to it. */
interface Endpoint {
  publish(topic: string, payload: Buffer, qos: QoS): Promise<unknown>;
  subscribe(topic: string, qos: QoS): Promise<number>;
  onMessage(listener: (topic: string, payload: Buffer) => void): void;
  /** Every error, and a close, is a failure of the bench. */
  onFailure(listener: (error: Error) => void): void;
  end(): Promise<void>;
}

function waitConnected(client: { once(event: string, listener: (...args: never[]) => void): unknown }, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no CONNACK in ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
    client.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
    client.once("error", (error: Error) => {
      clearTimeout(timer);
      reject(new Error(`${what}: ${error.message}`));
    });
    client.once("close", () => {
      clearTimeout(timer);
      reject(new Error(`${what}: connection closed before CONNACK`));
    });
  });
}

async function connectOurs(url: string, clientId: string): Promise<Endpoint> {
  const { connect } = await import("../../src/mqtt/index.js");
  const client: OurClient = connect(url, { protocolVersion: 4, clientId, clean: true, keepalive: 60, reconnect: false, maxInflight: WINDOW });
  await waitConnected(client as never, `edgews/mqtt ${clientId}`);
  return {
    publish: (topic, payload, qos) => client.publish(topic, payload, { qos }),
    subscribe: async (topic, qos) => (await client.subscribe(topic, { qos }))[0]!.qos,
    onMessage: (listener) => client.on("message", (topic, payload) => listener(topic, payload)),
    onFailure: (listener) => {
      client.on("error", listener);
      client.on("close", () => listener(new Error(`edgews/mqtt ${clientId}: connection closed during the bench`)));
    },
    end: () => client.end(true),
  };
}

async function connectTheirs(url: string, clientId: string): Promise<Endpoint> {
  const mqtt = await import("mqtt");
  const client: MqttJsClient = mqtt.connect(url, { protocolVersion: 4, clientId, clean: true, keepalive: 60, reconnectPeriod: 0, connectTimeout: CONNECT_TIMEOUT_MS });
  await waitConnected(client as never, `MQTT.js ${clientId}`);
  return {
    publish: (topic, payload, qos) => client.publishAsync(topic, payload, { qos }),
    subscribe: async (topic, qos) => {
      const granted = await client.subscribeAsync(topic, { qos });
      return granted[0]?.qos ?? 0x80;
    },
    onMessage: (listener) => client.on("message", (topic, payload) => listener(topic, payload)),
    onFailure: (listener) => {
      client.on("error", listener);
      client.on("close", () => listener(new Error(`MQTT.js ${clientId}: connection closed during the bench`)));
    },
    end: () => client.endAsync(true),
  };
}

// ---- a publisher and a subscriber of one library

/** Publisher -> broker -> subscriber, on a topic of its own; drives runs of `times` messages. */
class Flow {
  readonly #label: string;
  readonly #publisher: Endpoint;
  readonly #topic: string;
  readonly #payload: Buffer;
  #onMessage: ((topic: string, payload: Buffer) => void) | undefined;
  #fail: ((error: Error) => void) | undefined;
  /** A failure between runs fails the next run. */
  #failed: Error | undefined;

  constructor(label: string, publisher: Endpoint, subscriber: Endpoint, topic: string, payload: Buffer) {
    this.#label = label;
    this.#publisher = publisher;
    this.#topic = topic;
    this.#payload = payload;
    subscriber.onMessage((t, p) => {
      if (this.#onMessage) this.#onMessage(t, p);
      else this.#failWith(new Error(`message on ${t} outside a run`));
    });
    for (const e of [publisher, subscriber]) e.onFailure((error) => this.#failWith(error));
  }

  #failWith(error: Error) {
    if (this.#fail) this.#fail(error);
    else this.#failed ??= error;
  }

  /**
   * Publishes `times` messages, at most `window` outstanding (QoS 1: unacknowledged; QoS 0:
   * not yet received); done when the subscriber has all of them and every publish resolved.
   * With `latencies`, each message's publish-to-receive time (ms) is recorded (use window 1).
   */
  run(times: number, qos: QoS, window: number, latencies?: number[]): Promise<number> {
    if (this.#failed) return Promise.reject(this.#failed);
    return new Promise((resolve, reject) => {
      let sent = 0;
      let settled = 0;
      let received = 0;
      let sentAt = 0;
      let finished = false;
      let progressAt = performance.now();
      const timer = setInterval(() => {
        if (performance.now() - progressAt < STALL_TIMEOUT_MS) return;
        done(new Error(`${this.#label}: stuck at ${received} of ${times} messages received, ${settled} publishes resolved: nothing for ${STALL_TIMEOUT_MS} ms (QoS ${qos}, window ${window})`));
      }, 250);
      const done = (error?: Error) => {
        if (finished) return;
        finished = true;
        clearInterval(timer);
        this.#onMessage = undefined;
        this.#fail = undefined;
        if (error) {
          this.#failed ??= error;
          reject(error);
        } else resolve(times);
      };
      const outstanding = () => (qos === 1 ? sent - settled : sent - received);
      const pump = () => {
        while (sent < times && outstanding() < window && !finished) {
          sent++;
          sentAt = performance.now();
          this.#publisher.publish(this.#topic, this.#payload, qos).then(onSettled, (error: Error) => done(error));
        }
      };
      const check = () => {
        if (received === times && settled === times) done();
        else pump();
      };
      const onSettled = () => {
        settled++;
        progressAt = performance.now();
        check();
      };
      this.#fail = done;
      this.#onMessage = (topic, payload) => {
        progressAt = performance.now();
        if (latencies) latencies.push(progressAt - sentAt);
        if (topic !== this.#topic || payload.length !== this.#payload.length) return done(new Error(`got ${payload.length} bytes on ${topic}, expected ${this.#payload.length} on ${this.#topic}`));
        if (++received > times) return done(new Error(`received ${received} messages, published ${times}`));
        check();
      };
      pump();
    });
  }
}

async function startBroker(): Promise<Mosquitto> {
  const { startMosquitto } = await import("../../test/support/mosquitto.js");
  return startMosquitto({ config: BROKER_CONFIG });
}

/** One broker, a publisher and a subscriber per side (subscribed with `qos`), `body`, then teardown. */
async function withFlows<T>(qos: QoS, body: (ours: Flow, theirs: Flow) => Promise<T>): Promise<T> {
  const broker = await startBroker();
  const endpoints: Endpoint[] = [];
  try {
    const payload = asciiText(PAYLOAD_BYTES, 64);
    const flow = async (side: Side) => {
      const connect = side === "ours" ? connectOurs : connectTheirs;
      const tag = `${side}-${process.pid}-q${qos}`;
      const subscriber = await connect(broker.url, `sub-${tag}`);
      endpoints.push(subscriber);
      const publisher = await connect(broker.url, `pub-${tag}`);
      endpoints.push(publisher);
      const topic = `edgews-bench/${tag}`;
      const granted = await subscriber.subscribe(topic, qos);
      if (granted !== qos) throw new Error(`${side}: the broker granted QoS ${granted} on ${topic}, asked for ${qos}`);
      return new Flow(side === "ours" ? "edgews/mqtt" : "MQTT.js", publisher, subscriber, topic, payload);
    };
    const ours = await flow("ours");
    const theirs = await flow("theirs");
    return await body(ours, theirs);
  } finally {
    await Promise.race([Promise.allSettled(endpoints.map((e) => e.end())), new Promise((resolve) => setTimeout(resolve, 2000))]);
    await broker.dispose();
  }
}

const timingOf = (env: Env, timing: Timing) => networkTiming(env.quick, timing, SAMPLE_MS);

const publishCase = (qos: QoS): CaseSpec => ({
  name: `qos${qos}-publish`,
  baselines: ["mqtt"],
  unit: "msgs/s",
  measure: (_baseline, env, timing) =>
    withFlows(qos, (ours, theirs) => {
      const side = (f: Flow): AsyncContender => ({ run: (times) => f.run(times, qos, WINDOW) });
      return compareAsync(side(ours), side(theirs), timingOf(env, timing));
    }),
});

/** Publishing QoS 0 as a user would, `await publish()` in a loop, for this long (quick, full), ms. */
const DELIVERED_MS = { quick: 300, full: 2000 };
/** The subscriber is done once nothing has arrived for this long, ms. */
const DELIVERED_QUIET_MS = 500;

/** `await publish(qos 0)` in a loop on a fresh publisher; the % of those publishes the subscriber received. */
async function deliveredPercent(side: Side, url: string, ms: number): Promise<number> {
  const connect = side === "ours" ? connectOurs : connectTheirs;
  const tag = `${side}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const subscriber = await connect(url, `dsub-${tag}`);
  const publisher = await connect(url, `dpub-${tag}`);
  try {
    const topic = `edgews-bench/delivered/${tag}`;
    await subscriber.subscribe(topic, 0);
    let received = 0;
    subscriber.onMessage(() => received++);
    // A publisher whose connection failed stops the loop (its queued publishes would never resolve).
    const failed = new Promise<void>((resolve) => publisher.onFailure(() => resolve()));
    let stopped = false;
    void failed.then(() => (stopped = true));
    const payload = asciiText(PAYLOAD_BYTES, 64);
    let published = 0;
    for (const end = performance.now() + ms; performance.now() < end && !stopped; published++) {
      await Promise.race([publisher.publish(topic, payload, 0), failed]);
    }
    for (let seen = -1; seen !== received; ) {
      seen = received;
      await new Promise((resolve) => setTimeout(resolve, DELIVERED_QUIET_MS));
    }
    return (received / published) * 100;
  } finally {
    await Promise.race([Promise.allSettled([subscriber.end(), publisher.end()]), new Promise((resolve) => setTimeout(resolve, 2000))]);
  }
}

const deliveredCase: CaseSpec = {
  name: "qos0-delivered",
  baselines: ["mqtt"],
  unit: "%",
  measure: async (_baseline, env, timing) => {
    const broker = await startBroker();
    try {
      const ms = env.quick ? DELIVERED_MS.quick : DELIVERED_MS.full;
      return await compareCosts((side) => deliveredPercent(side, broker.url, ms), env.quick ? 1 : Math.min(timing.repeats, 5));
    } finally {
      await broker.dispose();
    }
  },
};

const e2eCase = (q: 0.5 | 0.99): CaseSpec => ({
  name: `e2e-p${q * 100}`,
  baselines: ["mqtt"],
  unit: "µs",
  measure: (_baseline, env, timing) =>
    withFlows(0, (ours, theirs): Promise<Comparison> => {
      const n = env.quick ? E2E_MESSAGES.quick : E2E_MESSAGES.full;
      const latency = async (f: Flow) => {
        const latencies: number[] = [];
        await f.run(n, 0, 1, latencies);
        return quantile(latencies, q) * 1000;
      };
      return compareCosts((s) => latency(s === "ours" ? ours : theirs), timingOf(env, timing).repeats, 1);
    }),
});

// ---- memory: a fresh process per measurement

/** The most recently modified file under `dir`, and when (ms). */
function newest(dir: string): { file: string; mtimeMs: number } {
  let latest = { file: dir, mtimeMs: 0 };
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = join(entry.parentPath, entry.name);
    const { mtimeMs } = statSync(file);
    if (mtimeMs > latest.mtimeMs) latest = { file, mtimeMs };
  }
  return latest;
}

/** Ours must be the built package: fail unless dist/mqtt exists and is newer than every source file. */
function assertBuilt(): void {
  let built: number;
  try {
    built = statSync(builtEntry).mtimeMs;
  } catch {
    throw new Error(`${builtEntry} is missing: run \`npm run build\` first (the memory cases measure the built package)`);
  }
  const source = newest(join(root, "src"));
  if (source.mtimeMs > built) {
    throw new Error(`${builtEntry} (built ${new Date(built).toISOString()}) is older than ${source.file} (changed ${new Date(source.mtimeMs).toISOString()}): run \`npm run build\` first (the memory cases measure the built package)`);
  }
}

/** MiB of RSS that `mode` adds to a fresh `node --expose-gc` process running `side`. */
function childRss(side: Side, mode: "idle" | "offline", url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    // MQTT.js's ws takes its native helpers, as in the network cases.
    delete env.WS_NO_BUFFER_UTIL;
    delete env.WS_NO_UTF_8_VALIDATE;
    const child = spawn(process.execPath, ["--expose-gc", rssChild, side, mode, url], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split("\n").pop() ?? "";
      if (code !== 0) return reject(new Error(`${side} ${mode} memory child failed (${signal ?? `exit ${code}`}): ${stderr.trim() || stdout.trim()}`));
      try {
        const { before, after } = JSON.parse(line) as { before: number; after: number };
        if (!Number.isFinite(before) || !Number.isFinite(after)) throw new Error("no figures");
        resolve((after - before) / MIB);
      } catch (error) {
        reject(new Error(`${side} ${mode} memory child printed ${JSON.stringify(line)}: ${(error as Error).message}`));
      }
    });
  });
}

const rssCase = (mode: "idle" | "offline"): CaseSpec => ({
  name: mode === "idle" ? "idle-rss" : `offline-${OFFLINE_MESSAGES / 1000}k-rss`,
  baselines: ["mqtt"],
  unit: "MiB",
  measure: async (_baseline, env) => {
    assertBuilt();
    const repeats = env.quick ? RSS_REPEATS.quick : RSS_REPEATS.full;
    if (mode === "idle") {
      const broker = await startBroker();
      try {
        return await compareCosts((side) => childRss(side, "idle", broker.url), repeats);
      } finally {
        await broker.dispose();
      }
    }
    // A port nothing listens on (taken from the kernel, then closed).
    const { freePorts } = await import("../../test/support/mosquitto.js");
    const [port] = await freePorts(1);
    return compareCosts((side) => childRss(side, "offline", `ws://127.0.0.1:${port}`), repeats);
  },
});

export const mqtt: BenchSpec = {
  name: "mqtt",
  unit: "msgs/s",
  divisor: 1,
  header:
    "MQTT 3.1.1 over WebSocket through one local Mosquitto, edgews/mqtt<->edgews/mqtt vs MQTT.js<->MQTT.js, interleaved; msgs/s higher is better (ratio > 1: ours faster); µs and MiB LOWER is better (ratio < 1: ours faster / smaller)",
  cases: [publishCase(0), publishCase(1), deliveredCase, e2eCase(0.5), e2eCase(0.99), rssCase("idle"), rssCase("offline"), ...reconnectCases],
  summary: () => [
    `qos0/qos1-publish: ${PAYLOAD_BYTES} B payloads, a publisher and a subscriber client per side on a topic of its own, subscribed with the same QoS; at most ${WINDOW} outstanding (QoS 1: publishes not yet acknowledged, maxInflight ${WINDOW} for ours; QoS 0: published, not yet received); a run ends when the subscriber has every message and every publish promise resolved.`,
    `qos0-delivered: % of QoS 0 publishes the subscriber received, the publisher doing \`await publish()\` in a loop for ${DELIVERED_MS.full / 1000} s (quick: ${DELIVERED_MS.quick} ms), as a user would; HIGHER is better. A publish that resolves and is then lost counts against its side.`,
    `e2e: QoS 0, one message in flight, publish() call to the subscriber's 'message' event, ${E2E_MESSAGES.full} per repeat.`,
    `idle-rss / offline-${OFFLINE_MESSAGES / 1000}k-rss: RSS after gc() added to a fresh node process by importing the library (ours: the built dist/mqtt) and connecting; offline: no broker, ${OFFLINE_MESSAGES} QoS 1 publishes of ${PAYLOAD_BYTES} B held (no store given: ours holds them itself, MQTT.js in its default in-memory store; counts checked).`,
    `broker: Mosquitto (${BROKER_CONFIG.join(", ")}), one per bench child; theirs = MQTT.js over ws with its native helpers.`,
    ...reconnectSummary,
    "MQTT.js in Node sends each packet as several WebSocket frames (one per mqtt-packet chunk: 5 for a QoS 0 PUBLISH), ours as one; with MQTT.js, Mosquitto's WebSocket listener often delivers a message ~100 ms late (its service tick, as observed), which shows in the e2e rows.",
  ],
};
