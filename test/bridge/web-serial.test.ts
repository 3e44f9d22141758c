// The bridge over Web Serial's SerialPort shape (src/bridge/web-serial.ts), in Node: a simulated
// relay (firmware-sim) behind a port object with the W3C streams, the real bridge, a real
// Mosquitto. The device comes online, streams its state and answers a command; pulled out (the
// read fails with a NetworkError, as Chromium's does) it goes offline, and it is back once replugged.
import { afterEach, describe, expect, it } from "vitest";
import { RealScheduler, SimDevice } from "../../firmware-sim/index.js";
import { MemoryStore } from "../../src/mqtt/index.js";
import { startBridge, type Bridge } from "../../src/bridge/index.js";
import { webSerialOpener, type WebSerialPort } from "../../src/bridge/web-serial.js";
import { useMosquitto } from "../support/mosquitto.js";
import { useMqttClients } from "../support-tests/mqtt-js.js";
import { keepLog, on, record, waitFor } from "./helpers.js";

const broker = useMosquitto();
const connectMqtt = useMqttClients();
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A SerialPort whose other end is a device: what the device writes is read, what is written reaches the device. */
class FakeSerialPort implements WebSerialPort {
  readable: ReadableStream<Uint8Array> | null = null;
  writable: WritableStream<Uint8Array> | null = null;
  opened: Parameters<WebSerialPort["open"]>[0] | undefined;
  #toPage: ReadableStreamDefaultController<Uint8Array> | undefined;

  constructor(readonly device: { receive(bytes: Uint8Array): void }) {}

  async open(options: Parameters<WebSerialPort["open"]>[0]): Promise<void> {
    this.opened = options;
    this.readable = new ReadableStream({ start: (controller) => void (this.#toPage = controller) });
    this.writable = new WritableStream({ write: (chunk) => this.device.receive(chunk) });
  }

  async close(): Promise<void> {
    this.readable = this.writable = null;
  }

  /** Bytes from the device to the page. */
  fromDevice(bytes: Uint8Array): void {
    if (this.readable) this.#toPage?.enqueue(bytes.slice());
  }

  unplug(): void {
    this.#toPage?.error(new DOMException("The device has been lost.", "NetworkError"));
  }
}

describe("the bridge over Web Serial", () => {
  it("brings a device online through a SerialPort's streams, answers a command, and survives unplug and replug", async () => {
    const base = `webserial${process.pid}`;
    let port: FakeSerialPort | undefined;
    const device = new SimDevice({ id: "web-relay", kind: "relay", seed: 3, scheduler: new RealScheduler(), rate: 5, write: (bytes) => port?.fromDevice(bytes) });
    port = new FakeSerialPort(device);
    device.start();
    cleanups.push(() => device.stop());
    const dashboard = await connectMqtt(broker().url, { protocolVersion: 5 });
    const seen = record(dashboard);
    await dashboard.subscribeAsync(`${base}/#`, { qos: 1 });

    const log = keepLog();
    const bridge: Bridge = await startBridge({
      url: broker().url, base, clientId: `webserial-${process.pid}`, store: new MemoryStore(), ports: [{ path: "webserial:1", baudRate: 57_600 }],
      openPort: webSerialOpener(() => port), portReconnect: { initialDelay: 50, maxDelay: 200 }, log: log.log,
    });
    cleanups.push(() => bridge.stop());
    const availability = () => on(seen, `${base}/web-relay/availability`).at(-1);
    await waitFor(() => availability() === "online", "web-relay online", 20_000);
    expect(port.opened).toMatchObject({ baudRate: 57_600, dataBits: 8, stopBits: 1, parity: "none" });
    await waitFor(() => on(seen, `${base}/web-relay`).length > 2, "readings", 10_000);
    expect(JSON.parse(on(seen, `${base}/web-relay`).at(-1)!)).toHaveProperty("state");

    dashboard.publish(`${base}/web-relay/set`, JSON.stringify({ on: null, transaction: 1 }), { qos: 1 });
    await waitFor(() => on(seen, `${base}/web-relay/set/result`).length > 0, "the command's result", 10_000);
    expect(JSON.parse(on(seen, `${base}/web-relay/set/result`)[0]!)).toMatchObject({ command: "on", status: "ok", transaction: 1 });

    // Pulled out: offline, and the port stays absent for a few reopen attempts.
    const unplugged = port;
    port = undefined;
    unplugged.unplug();
    await waitFor(() => availability() === "offline", "web-relay offline after the unplug", 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(log.lines.filter((line) => /webserial:1 is not available/.test(line))).toHaveLength(1); // reported once, not at every retry
    port = new FakeSerialPort(device);
    await waitFor(() => availability() === "online", "web-relay online after the replug", 20_000);
  }, 60_000);
});
