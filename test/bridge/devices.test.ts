// The bridge with the real device sides, end to end through a real Mosquitto: the C library's
// example device (firmware-sim/c, compiled with the system cc, a process on a socat pty) and a
// simulated relay (firmware-sim's fleet, as `edgews sim` runs it). Each appears on the broker,
// streams its readings as JSON, and answers a command through the bridge.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFleet, type Fleet } from "../../firmware-sim/index.js";
import { startBridge, type Bridge } from "../../src/bridge/index.js";
import { Child, compile, librarySources, tempDir } from "../link-c/harness.js";
import { useMosquitto } from "../support/mosquitto.js";
import { usePtyPairs } from "../support/pty.js";
import { connectMqtt } from "../support-tests/mqtt-js.js";
import { keepLog, on, record, useScratchDir, waitFor, type Seen } from "./helpers.js";

const broker = useMosquitto({ config: ["max_inflight_messages 0", "max_queued_messages 0"] });
const newPair = usePtyPairs();
const dir = useScratchDir("bridge-devices");
const BASE = "devices";
const C_ID = "c-sensor-1";

describe("the bridge with the C device and the simulator", () => {
  const build = tempDir();
  let cDevice: Child | undefined;
  let fleet: Fleet | undefined;
  let bridge: Bridge | undefined;
  let seen: Seen[] = [];
  let dashboard: Awaited<ReturnType<typeof connectMqtt>>;
  let relayId = "";

  beforeAll(async () => {
    const binary = join(build.path, "posix_device");
    await compile(binary, [...librarySources(), "examples/posix_device.c"]);
    const pair = await newPair();
    cDevice = await new Child(binary, ["-i", C_ID, "-p", "200", pair.b]).started("posix_device");
    fleet = await startFleet({ devices: 1, kinds: ["relay"], rate: 5, seed: 7, dir: join(dir, "sim") });
    const relay = fleet.devices[0]!;
    relayId = relay.id;
    dashboard = await connectMqtt(broker().url, { protocolVersion: 5 });
    seen = record(dashboard);
    await dashboard.subscribeAsync(`${BASE}/#`, { qos: 2 });
    bridge = await startBridge({ url: broker().url, protocolVersion: 5, clientId: `bridge-devices-${process.pid}`, base: BASE, store: join(dir, "store"), ports: [pair.a, relay.path], log: keepLog().log });
  }, 120_000);

  afterAll(async () => {
    await dashboard?.endAsync();
    await bridge?.stop();
    await fleet?.stop();
    await cDevice?.stop("SIGKILL");
    build.dispose();
  });

  // One test: the pty pairs and the broker's clients of the use* helpers end after each test.
  it("both come online, named by their hellos, stream readings as JSON under the names they announced, and answer commands", async () => {
    for (const id of [C_ID, relayId]) await waitFor(() => on(seen, `${BASE}/${id}/availability`).at(-1) === "online", `${id} online`, 20_000);
    await waitFor(() => on(seen, `${BASE}/${C_ID}`).length > 0 && on(seen, `${BASE}/${relayId}`).length > 0, "readings of both", 20_000);
    const cState = JSON.parse(on(seen, `${BASE}/${C_ID}`).at(-1)!);
    expect(typeof cState.temperature).toBe("number");
    const relayState = JSON.parse(on(seen, `${BASE}/${relayId}`).at(-1)!);
    expect(typeof relayState.state).toBe("boolean");
    expect(JSON.parse(on(seen, `${BASE}/${C_ID}/info`).at(-1)!)).toMatchObject({ device: C_ID, commands: expect.arrayContaining([expect.objectContaining({ name: "relay" })]) });

    // A command to each round-trips with the device's result.
    await dashboard.publishAsync(`${BASE}/${C_ID}/set`, JSON.stringify({ relay: true, transaction: 1 }), { qos: 1 });
    await dashboard.publishAsync(`${BASE}/${relayId}/set`, JSON.stringify({ on: null, transaction: 2 }), { qos: 1 });
    for (const id of [C_ID, relayId]) {
      await waitFor(() => on(seen, `${BASE}/${id}/set/result`).length > 0, `${id}'s result`, 20_000);
      expect(JSON.parse(on(seen, `${BASE}/${id}/set/result`)[0]!)).toMatchObject({ status: "ok" });
    }
    await waitFor(() => on(seen, `${BASE}/${relayId}`).some((p) => JSON.parse(p).state === true), "the relay's state on", 20_000);
  }, 60_000);
});
