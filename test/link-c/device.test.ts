// The C device (firmware-sim/c/examples/posix_device.c, the library built with ASan/UBSan) as a
// process on one end of a socat pty pair; the TypeScript end of the link (src/link, bridge
// role) on the other, through serialport. Hello, telemetry, commands and their results and
// events; then line noise both ways, and the device killed and restarted.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FrameDecoder, frameAll, sealPacket } from "../../src/link/framing.js";
import { PacketType, decodePacket, decodeSync } from "../../src/link/packet.js";
import { ValueType } from "../../src/link/values.js";
import { Noise } from "../link/line.js";
import { prng } from "../support/seeded.js";
import { ensureSocat } from "../support/pty.js";
import { BridgeEnd, Child, compile, librarySources, ptyPair, tempDir } from "./harness.js";

const RELAY = 0;
const INTERVAL = 1;

const HELLO = {
  deviceId: "greenhouse-3",
  firmware: "1.0.0",
  channels: [
    { name: "temperature", unit: "°C", type: ValueType.F32 },
    { name: "relay", unit: "", type: ValueType.Bool },
  ],
  commands: [
    { name: "relay", argument: ValueType.Bool },
    { name: "interval", argument: ValueType.U32 },
  ],
};

/** A device, its pty pair and the bridge end; `stop` ends the processes we started, by PID. */
interface Rig {
  bridge: BridgeEnd;
  ttyPath: string;
  device: Child;
  startDevice(args?: string[]): Promise<Child>;
  stop(): Promise<void>;
}

describe("the C device on a pty, against the TypeScript end of the link", () => {
  const dir = tempDir();
  let binary = "";
  let rigs = 0;

  beforeAll(async () => {
    await ensureSocat();
    binary = join(dir.path, "posix_device");
    await compile(binary, [...librarySources(), "examples/posix_device.c"]);
  }, 120_000);
  afterAll(() => dir.dispose());

  async function rig(deviceArgs: string[], bridgeRetransmitMs = 500): Promise<Rig> {
    const pty = await ptyPair(join(dir.path, `rig${++rigs}`));
    const bridge = new BridgeEnd(pty.bridge, { retransmitTimeout: bridgeRetransmitMs });
    const r: Rig = {
      bridge,
      ttyPath: pty.device,
      device: undefined as unknown as Child,
      startDevice: async (args = deviceArgs) => (r.device = await new Child(binary, ["-i", HELLO.deviceId, ...args, pty.device]).started("posix_device")),
      stop: async () => {
        await bridge.close();
        await r.device?.stop("SIGKILL");
        await pty.socat.stop();
      },
    };
    await r.startDevice();
    await bridge.open();
    return r;
  }

  it("announces itself with its hello, streams telemetry, and answers commands with results (and a relay event)", async () => {
    const r = await rig(["-p", "100"]);
    try {
      const { bridge, device } = r;
      await bridge.until(() => bridge.received.hellos.length === 1, "the hello");
      expect(bridge.received.hellos[0]).toEqual(HELLO);
      await bridge.until(() => bridge.received.telemetry.length >= 3, "3 telemetry messages");
      for (const record of bridge.received.telemetry) {
        expect(Object.keys(record)).toEqual(["temperature", "relay"]);
        expect(record.temperature).toBeGreaterThanOrEqual(15);
        expect(record.temperature).toBeLessThanOrEqual(30);
        expect(record.relay).toBe(false);
      }

      bridge.command(1, RELAY, true);
      await bridge.until(() => bridge.received.results.length === 1, "the result of command 1");
      expect(bridge.received.results[0]).toEqual({ id: 1, status: 0, type: ValueType.Bool, value: true });
      expect(bridge.received.events).toEqual([{ name: "relay", type: ValueType.Bool, value: true }]);
      await device.waitForLine(/^command 1 relay$/);
      const seen = bridge.received.telemetry.length;
      await bridge.until(() => bridge.received.telemetry.length > seen + 1, "telemetry after the command");
      expect(bridge.received.telemetry.at(-1)!.relay).toBe(true);

      // A refused argument, and a command index the hello does not declare: answered by the library.
      bridge.command(2, INTERVAL, 5);
      bridge.session.sendReliable(0x13, Uint8Array.of(3, 0, 7));
      await bridge.until(() => bridge.received.results.length === 3, "the results of commands 2 and 3");
      expect(bridge.received.results.slice(1)).toEqual([
        { id: 2, status: 2, type: ValueType.U32, value: 100 },
        { id: 3, status: 1, type: ValueType.None, value: null },
      ]);

      expect(await device.stop("SIGTERM")).toEqual({ code: 0, signal: null });
      expect(device.lines.at(-1)).toMatch(/^stats \{"packets":\d+,"crcErrors":0,/);
    } finally {
      await r.stop();
    }
  }, 60_000);

  it("runs each command once and delivers each result and event exactly once through line noise both ways", async () => {
    const r = await rig(["-p", "200", "-r", "100"], 100);
    try {
      const { bridge, device } = r;
      const random = prng(12);
      const garbage = () => Uint8Array.from({ length: 1 + Math.floor(random() * 8) }, () => (random() < 0.3 ? 0 : Math.floor(random() * 256)));
      // 2% of bytes damaged inside frames (flips, drops, inserts, bursts), and garbage between writes.
      const toDevice = new Noise(0.02, prng(1));
      const fromDevice = new Noise(0.02, prng(2));
      bridge.toDevice = (bytes) => Uint8Array.from([...toDevice.apply(bytes), ...garbage()]);
      bridge.fromDevice = (bytes) => Uint8Array.from([...garbage(), ...fromDevice.apply(bytes)]);
      await bridge.until(() => bridge.received.hellos.length >= 1, "the hello", 20_000);

      const commands = 30;
      const relay = (id: number) => id % 2 === 1;
      for (let id = 1; id <= commands; id++) bridge.command(id, RELAY, relay(id));
      await bridge.until(() => bridge.received.results.length >= commands, `${commands} results`, 40_000);
      await bridge.until(() => bridge.received.events.length >= commands, `${commands} events`, 10_000);

      const ids = Array.from({ length: commands }, (_, i) => i + 1);
      expect(bridge.received.results.map((result) => result.id).sort((a, b) => a - b)).toEqual(ids);
      expect(bridge.received.events.map((event) => event.value)).toEqual(ids.map(relay));
      expect(await device.stop("SIGTERM")).toEqual({ code: 0, signal: null });
      const executed = device.lines.filter((line) => line.startsWith("command ")).map((line) => Number(line.split(" ")[1]));
      expect(executed).toEqual(ids);

      // The noise did hit both ends, and the link went back for what it lost.
      const deviceStats = JSON.parse(device.lines.at(-1)!.replace(/^stats /, ""));
      const bridgeStats = bridge.session.stats;
      console.log("device", deviceStats, "bridge", bridgeStats, "noise", toDevice.counts, fromDevice.counts);
      expect(deviceStats.crcErrors + deviceStats.cobsErrors + deviceStats.truncated).toBeGreaterThan(0);
      expect(bridgeStats.crcErrors + bridgeStats.cobsErrors + bridgeStats.truncated).toBeGreaterThan(0);
      expect(deviceStats.retransmits + bridgeStats.retransmits).toBeGreaterThan(0);
    } finally {
      await r.stop();
    }
  }, 90_000);

  it("keeps its place across SIGKILL and restart: new messages all arrive, and a command taken just before the kill is not run again", async () => {
    const state = join(dir.path, "device.state");
    const r = await rig(["-s", state, "-p", "200", "-r", "100"], 100);
    const runs: Child[] = [r.device];
    try {
      const { bridge } = r;
      await bridge.until(() => bridge.received.hellos.length === 1, "the first hello");
      bridge.command(1, RELAY, true);
      await bridge.until(() => bridge.received.results.length === 1, "the result of command 1");
      // The device holds nothing unacknowledged (hello, event, result): a clean kill.
      await r.device.waitForLine(/^delivered 3$/);
      await r.device.stop("SIGKILL");

      runs.push(await r.startDevice());
      await bridge.until(() => bridge.received.hellos.length === 2, "the hello after the restart");
      bridge.command(2, RELAY, false);
      await bridge.until(() => bridge.received.results.length === 2, "the result of command 2");

      // The line from the device goes dead; command 3 reaches the device, which runs it and
      // saves its state; then it is killed before its answer (and acknowledgement) get through.
      bridge.fromDevice = () => new Uint8Array(0);
      const command3 = bridge.command(3, RELAY, true);
      await r.device.waitForLine(/^command 3 relay$/);
      await r.device.waitForLine(/^saved /);
      await r.device.stop("SIGKILL");
      const third = await r.startDevice();
      runs.push(third);
      const [, session, relayOn] = (await third.waitForLine(/^session ([0-9a-f]{8}) relay (\d)$/))!;
      expect(relayOn).toBe("1"); // the command's effect was saved with the link's state
      bridge.fromDevice = fromSession(parseInt(session, 16));

      await bridge.until(() => bridge.received.hellos.length === 3, "the hello after the second restart");
      await bridge.until(() => bridge.received.delivered.has(command3), "command 3 acknowledged by the restarted device's SYNC");
      const seen = bridge.received.telemetry.length;
      await bridge.until(() => bridge.received.telemetry.length > seen, "telemetry from the third run");
      expect(bridge.received.telemetry.at(-1)!.relay).toBe(true);
      bridge.command(4, RELAY, false);
      await bridge.until(() => bridge.received.results.length === 3, "the result of command 4");
      await new Promise((resolve) => setTimeout(resolve, 500)); // room for a duplicate to show up

      const executions = runs.flatMap((run) => run.lines.filter((line) => line.startsWith("command ")));
      expect(executions).toEqual(["command 1 relay", "command 2 relay", "command 3 relay", "command 4 relay"]);
      // Command 3's result and event were in the killed device's RAM when its line was down: lost
      // with it (docs/link-protocol.md §6.4). Everything else arrived, once.
      expect(bridge.received.results.map((result) => result.id)).toEqual([1, 2, 4]);
      expect(bridge.received.events.map((event) => event.value)).toEqual([true, false, false]);
    } finally {
      await r.stop();
      for (const run of runs) await run.stop("SIGKILL");
    }
  }, 90_000);
});

/**
 * The line from the device once it is back: frames are passed on (re-framed) from the first
 * SYNC of `session`; anything before it (the killed run's last bytes) is dropped.
 */
function fromSession(session: number): (bytes: Uint8Array) => Uint8Array {
  let open = false;
  let passed: Uint8Array[] = [];
  const decoder = new FrameDecoder(512, (packet) => {
    const parsed = decodePacket(packet);
    if (!open && typeof parsed === "object" && parsed.type === PacketType.Sync) open = decodeSync(parsed.body)?.session === session;
    if (open) {
      const sealed = new Uint8Array(packet.length + 4);
      sealed.set(packet);
      passed.push(sealPacket(sealed));
    }
  });
  return (bytes) => {
    decoder.push(bytes);
    const out = passed.length > 0 ? frameAll(passed) : new Uint8Array(0);
    passed = [];
    return out;
  };
}
