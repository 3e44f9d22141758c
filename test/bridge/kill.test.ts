// The kill test: `edgews bridge` runs as its own process (tsx) on the bridge end of a pty pair
// and is SIGKILLed again and again, at random moments, while a device stub on the other end
// streams reliable events numbered 0, 1, 2... An MQTT.js subscriber with a persistent session
// and a QoS 2 subscription counts them at the broker: every number the device sent arrives,
// and none arrives twice. Each SIGKILL also shows as the will: bridge/state turns "offline".
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ValueType } from "../../src/link/index.js";
import { useMosquitto } from "../support/mosquitto.js";
import { spawnTsx, type NodeChild } from "../support/processes.js";
import { usePtyPairs } from "../support/pty.js";
import { prng } from "../support/seeded.js";
import { useMqttClients } from "../support-tests/mqtt-js.js";
import { DeviceStub, attachToPort, closePort } from "./device-stub.js";
import { on, record, useScratchDir, waitFor } from "./helpers.js";

const broker = useMosquitto({ config: ["max_inflight_messages 0", "max_queued_messages 0", "max_queued_bytes 0"] });
const connectMqtt = useMqttClients();
const newPair = usePtyPairs();
const dir = useScratchDir("bridge-kill");
const cli = new URL("../../src/cli/bridge.ts", import.meta.url).pathname;
const children: NodeChild[] = [];
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.kill("SIGKILL")));
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** Messages the device sends after the last restart: the stream goes on until then, however fast it runs. */
const TAIL = 300;
const KILLS = 8;
/** Reliable messages the device keeps queued (its link holds 32 at most). */
const IN_FLIGHT = 24;

describe("bridge process SIGKILLed while a device streams reliable messages", () => {
  it("every message reaches the broker exactly once; the will turns bridge/state offline at each kill", async () => {
    const seed = Number(process.env.EDGEWS_KILL_SEED ?? Date.now() % 100_000);
    const random = prng(seed);
    const base = `kill${process.pid}`;
    const pair = await newPair();
    const subscriber = await connectMqtt(broker().url, { protocolVersion: 5, clientId: `kill-sub-${process.pid}`, clean: false, properties: { sessionExpiryInterval: 600 } });
    const seen = record(subscriber);
    await subscriber.subscribeAsync([`${base}/gh-7/event`, `${base}/bridge/state`], { qos: 2 });

    const device = new DeviceStub();
    cleanups.push(() => device.close());
    const port = await attachToPort(device, pair.b);
    cleanups.push(() => closePort(port));
    let sent = 0;
    let total = Infinity; // set once the last run is up
    let feeding = true;
    const feeder = (async () => {
      while (feeding && sent < total) {
        if (device.unacknowledged >= IN_FLIGHT) await new Promise((resolve) => setTimeout(resolve, 2));
        else device.event("n", ValueType.U16, sent++);
      }
    })();
    cleanups.push(() => {
      feeding = false;
      return feeder;
    });

    // Above the default budget (20 messages/s per device), so that a run is killed mid-stream and the test stays short.
    const config = join(dir, "bridge.json");
    writeFileSync(config, JSON.stringify({ limits: { rate: 5000, burst: 200 } }));
    const args = ["--config", config, "--port", pair.a, "--url", broker().url, "--store", join(dir, "store"), "--client-id", `kill-bridge-${process.pid}`, "--base", base, "--interval", "60000"];
    const start = async () => {
      const child = await spawnTsx(cli, args);
      children.push(child);
      return child;
    };
    const t0 = performance.now();
    const killedAt: number[] = [];
    const stateCount = (state: string) => on(seen, `${base}/bridge/state`).filter((s) => s === state).length;
    for (let kill = 0; kill < KILLS; kill++) {
      const onlineBefore = stateCount("online");
      const bridge = await start();
      await bridge.waitForLine(/gh-7 online$/, 20_000);
      // Connected to the broker (so its will is registered) before it is killed.
      await waitFor(() => stateCount("online") > onlineBefore, `bridge/state online in run ${kill + 1}`, 20_000);
      const from = sent;
      // A random moment while messages flow: 50 to 800 ms into the stream.
      await new Promise((resolve) => setTimeout(resolve, 50 + random() * 750));
      const willsBefore = stateCount("offline");
      expect((await bridge.kill("SIGKILL")).signal).toBe("SIGKILL");
      killedAt.push(sent);
      // The broker publishes the will once it sees the connection gone; restarting before that
      // would let the new connection take the session over first.
      await waitFor(() => stateCount("offline") > willsBefore, `the will after kill ${kill + 1}`, 10_000);
      console.info(`${Math.round(performance.now() - t0)} ms: run ${kill + 1} killed after the device sent ${sent - from} more (${sent} in all)`);
    }
    const last = await start();
    await last.waitForLine(/gh-7 online$/, 20_000);
    const lastFrom = sent;
    const lastStart = performance.now();
    const TOTAL = (total = sent + TAIL);
    await waitFor(() => sent === TOTAL, "the device to send everything", 30_000);
    await device.drained(30_000);
    const rate = (TOTAL - lastFrom) / ((performance.now() - lastStart) / 1000);
    const numbers = () => on(seen, `${base}/gh-7/event`).map((p) => JSON.parse(p).value as number);
    await waitFor(() => new Set(numbers()).size === TOTAL, `all ${TOTAL} numbers at the broker`, 20_000).catch(() => {});

    const counts = new Map<number, number>();
    for (const n of numbers()) counts.set(n, (counts.get(n) ?? 0) + 1);
    const missing = Array.from({ length: TOTAL }, (_, n) => n).filter((n) => !counts.has(n));
    const duplicated = [...counts].filter(([, count]) => count > 1);
    const states = on(seen, `${base}/bridge/state`);
    console.info(
      `seed ${seed}: ${KILLS} SIGKILLs at ${killedAt.join("/")} sent; ${numbers().length} copies of ${counts.size} numbers, ` +
        `missing ${missing.length}, duplicated ${duplicated.length}; bridge/state: ${states.join(",")}; ${Math.round(performance.now() - t0)} ms; ` +
        `last run: ${rate.toFixed(0)} reliable messages/s acknowledged`,
    );
    expect(missing.slice(0, 20), `${missing.length} numbers never arrived (seed ${seed})`).toEqual([]);
    expect(duplicated.slice(0, 20), `numbers that arrived twice (seed ${seed})`).toEqual([]);
    expect(states.filter((s) => s === "offline").length).toBeGreaterThanOrEqual(KILLS);
    expect(states.at(-1)).toBe("online");
    expect(numbers()).toHaveLength(TOTAL);
  }, 90_000);
});
