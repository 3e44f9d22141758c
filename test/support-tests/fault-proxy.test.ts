// The fault proxy over raw TCP (a local echo server) and in front of Mosquitto with MQTT.js.
import { once } from "node:events";
import net from "node:net";
import type { Packet } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { withDeadline } from "../support/interop.js";
import { useMosquitto } from "../support/mosquitto.js";
import { nextMessage, useMqttClients } from "./mqtt-js.js";

/** Polls `condition` every few ms until it holds or `ms` pass. */
async function until(condition: () => boolean, what: string | (() => string), ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === "string" ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A negative check: `condition` must stay false for `ms` (a bounded window, not a sync point). */
async function staysFalse(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (condition()) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return !condition();
}

const proxies: FaultProxy[] = [];
async function proxyTo(port: number): Promise<FaultProxy> {
  const proxy = await startFaultProxy(port);
  proxies.push(proxy);
  return proxy;
}
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

describe("startFaultProxy over raw TCP", () => {
  let echo: net.Server;
  let echoPort: number;
  /** What the echo server saw happen to each connection: "end" (FIN) or "reset". */
  const seen: string[] = [];
  beforeAll(async () => {
    echo = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.on("data", (d) => socket.write(d));
      socket.on("end", () => {
        seen.push("end");
        socket.end();
      });
      socket.on("error", (e: NodeJS.ErrnoException) => seen.push(e.code === "ECONNRESET" ? "reset" : e.code ?? "error"));
    });
    echo.listen(0, "127.0.0.1");
    await once(echo, "listening");
    echoPort = (echo.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => echo.close(() => resolve())));

  async function connect(proxy: FaultProxy): Promise<{ socket: net.Socket; received: () => string }> {
    const socket = net.connect(proxy.port, "127.0.0.1");
    let text = "";
    socket.on("data", (d) => (text += d.toString()));
    await once(socket, "connect");
    return { socket, received: () => text };
  }

  it("forwards bytes both ways, counts connections and forwards a FIN as a FIN", async () => {
    const proxy = await proxyTo(echoPort);
    expect(proxy.url()).toBe(`ws://127.0.0.1:${proxy.port}/`);
    expect(proxy.url("mqtt")).toBe(`ws://127.0.0.1:${proxy.port}/mqtt`);
    const { socket, received } = await connect(proxy);
    socket.write("ping-1");
    await until(() => received() === "ping-1", "the echo");
    expect(proxy.connections).toBe(1);
    seen.length = 0;
    socket.end();
    await withDeadline(once(socket, "close"), 5000, "the socket to close");
    expect(seen).toEqual(["end"]);
    await until(() => proxy.connections === 0, "the connection count to drop to 0");
  });

  it("blackhole() holds bytes both ways with the sockets open; resume() delivers them", async () => {
    const proxy = await proxyTo(echoPort);
    const { socket, received } = await connect(proxy);
    socket.write("a");
    await until(() => received() === "a", "the first echo");
    proxy.blackhole();
    expect(proxy.blackholed).toBe(true);
    socket.write("b");
    expect(await staysFalse(() => received() !== "a", 300)).toBe(true);
    expect(socket.destroyed).toBe(false);
    expect(proxy.connections).toBe(1);
    proxy.resume();
    await until(() => received() === "ab", () => `the held byte (got ${JSON.stringify(received())})`);
    socket.destroy();
  });

  it("a connection made during a blackhole is accepted but held until resume()", async () => {
    const proxy = await proxyTo(echoPort);
    proxy.blackhole();
    const { socket, received } = await connect(proxy);
    socket.write("held");
    expect(await staysFalse(() => received() !== "", 300)).toBe(true);
    proxy.resume();
    await until(() => received() === "held", "the echo after resume()");
    socket.destroy();
  });

  it("a close during a blackhole reaches the other side only on resume()", async () => {
    const proxy = await proxyTo(echoPort);
    const { socket } = await connect(proxy);
    proxy.blackhole();
    seen.length = 0;
    socket.end();
    expect(await staysFalse(() => seen.length > 0, 300)).toBe(true);
    proxy.resume();
    await until(() => seen.length > 0, "the echo server to see the close");
    expect(seen).toEqual(["end"]);
  });

  for (const how of ["FIN", "RST"] as const) {
    it(`the target's close (${how}) during a blackhole reaches the client only on resume()`, async () => {
      // A target that drops each connection shortly after it opens (a broker's keepalive expiry).
      const closer = net.createServer((socket) => void setTimeout(() => (how === "FIN" ? socket.end() : socket.resetAndDestroy()), 200));
      closer.listen(0, "127.0.0.1");
      await once(closer, "listening");
      try {
        const proxy = await proxyTo((closer.address() as net.AddressInfo).port);
        const { socket } = await connect(proxy);
        let closed = false;
        socket.on("error", () => {});
        socket.on("close", () => (closed = true));
        socket.on("end", () => (closed = true));
        proxy.blackhole();
        expect(await staysFalse(() => closed, 600)).toBe(true);
        proxy.resume();
        await until(() => closed, `the client to see the target's ${how} after resume()`);
        socket.destroy();
      } finally {
        closer.close();
      }
    });
  }

  it("dropAll() resets both sides (ECONNRESET on the client and on the target)", async () => {
    const proxy = await proxyTo(echoPort);
    const { socket, received } = await connect(proxy);
    socket.write("x");
    await until(() => received() === "x", "the echo");
    seen.length = 0;
    const error = once(socket, "error");
    proxy.dropAll();
    const [e] = (await withDeadline(error, 5000, "the client's error")) as [NodeJS.ErrnoException];
    expect(e.code).toBe("ECONNRESET");
    await until(() => seen.length > 0, "the target to see the reset");
    expect(seen).toEqual(["reset"]);
    await until(() => proxy.connections === 0, "the connection count to drop to 0");
  });

  it("a refused target resets the client; close() stops listening", async () => {
    const closed = await proxyTo(echoPort);
    const port = closed.port;
    await closed.close();
    const refused = net.connect(port, "127.0.0.1");
    const [e] = (await withDeadline(once(refused, "error"), 5000, "a refusal")) as [NodeJS.ErrnoException];
    expect(e.code).toBe("ECONNREFUSED");

    // Now a proxy whose target is that closed port: the client is accepted, then reset.
    const proxy = await proxyTo(port);
    const socket = net.connect(proxy.port, "127.0.0.1");
    const [reset] = (await withDeadline(once(socket, "error"), 5000, "the reset")) as [NodeJS.ErrnoException];
    expect(reset.code).toBe("ECONNRESET");
  });
});

describe("startFaultProxy in front of Mosquitto with MQTT.js", () => {
  const broker = useMosquitto();
  const client = useMqttClients();

  it("blackhole(): MQTT.js's pings go unanswered and it gives up; the broker times the client out", async () => {
    const proxy = await proxyTo(broker().wsPort);
    const c = await client(proxy.url(), { keepalive: 1, clientId: "edgews-blackholed" });
    const received: string[] = [];
    c.on("packetreceive", (p: Packet) => received.push(p.cmd));
    await until(() => received.includes("pingresp"), "a PINGRESP while the network works", 5000);

    proxy.blackhole();
    const sent: string[] = [];
    c.on("packetsend", (p: Packet) => sent.push(p.cmd));
    const before = received.length;
    const closed = new Promise<void>((resolve) => c.once("close", () => resolve()));
    await withDeadline(closed, 10_000, "MQTT.js to drop the silent connection");
    expect(sent).toContain("pingreq");
    expect(received.slice(before)).toEqual([]);
    // Mosquitto allows 1.5 × keepalive of silence (checked every few seconds). On a WebSocket
    // listener 2.0.11 logs the expiry as "closed its connection", on TCP as "has exceeded timeout".
    const line = /Client edgews-blackholed (has exceeded timeout|closed its connection)/;
    await until(() => line.test(broker().log()), () => `the broker's timeout line; log:\n${broker().log().slice(-2000)}`, 15_000);
  });

  it("blackhole() then resume(): a QoS 1 publish is held, then delivered", async () => {
    const proxy = await proxyTo(broker().wsPort);
    const sub = await client(broker().url);
    await sub.subscribeAsync("edgews/fault/held", { qos: 1 });
    const pub = await client(proxy.url(), { keepalive: 30 });
    let got = false;
    const received = nextMessage(sub, "edgews/fault/held").then((m) => ((got = true), m));
    proxy.blackhole();
    const acked = pub.publishAsync("edgews/fault/held", "late", { qos: 1 });
    expect(await staysFalse(() => got, 500)).toBe(true);
    proxy.resume();
    expect((await received).payload.toString()).toBe("late");
    await withDeadline(acked, 5000, "the PUBACK");
  });

  it("dropAll(): MQTT.js sees the connection close; the broker sees it go", async () => {
    const proxy = await proxyTo(broker().wsPort);
    const c = await client(proxy.url(), { clientId: "edgews-dropped" });
    expect(proxy.connections).toBe(1);
    const closed = new Promise<void>((resolve) => c.once("close", () => resolve()));
    proxy.dropAll();
    await withDeadline(closed, 5000, "MQTT.js to see the reset");
    await until(() => /Client edgews-dropped (closed its connection|disconnected)/.test(broker().log()), () => `the broker's disconnect line; log:\n${broker().log().slice(-2000)}`);
    await until(() => proxy.connections === 0, "the connection count to drop to 0");
  });
});
