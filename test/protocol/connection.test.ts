// The sans-I/O connection, two of them wired back to back through an in-memory "TCP" that
// delivers bytes asynchronously, in order.
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadCoreSync } from "../../src/core/node.js";
import { PerMessageDeflate } from "../../src/deflate/permessage-deflate.js";
import { Connection, ReadyState, type ConnectionEvents, type ConnectionOptions } from "../../src/protocol/connection.js";
import { InvalidCloseError, InvalidStateError, PolicyViolationError } from "../../src/protocol/errors.js";
import { workBomb } from "../deflate/bombs.js";
import { closePayload, frame } from "../support/frames.js";

const core = loadCoreSync({ maxConnections: 64 });

type Log = Array<[string, ...unknown[]]>;

interface End {
  conn: Connection;
  log: Log;
  closed: Promise<[number, string, boolean]>;
  /** Bytes this end wrote (after the handshake, before the peer reads them). */
  written: Uint8Array[];
  reading: boolean;
}

/** A client and a server connection joined by an in-memory TCP connection. */
function pair(clientOptions: Partial<ConnectionOptions> = {}, serverOptions: Partial<ConnectionOptions> = {}, tap?: { dropFromServer?: boolean; blackhole?: boolean }) {
  let tcpOpen = true;
  let closing = false;
  const ends: Record<"client" | "server", End> = {} as never;
  const closeTcp = () => {
    if (closing) return;
    closing = true;
    // Both sides see the TCP connection go away once in-flight bytes are delivered.
    setTimeout(() => {
      tcpOpen = false;
      ends.client.conn.transportClosed();
      ends.server.conn.transportClosed();
    }, 5);
  };
  for (const role of ["client", "server"] as const) {
    const log: Log = [];
    let resolveClosed!: (v: [number, string, boolean]) => void;
    const closed = new Promise<[number, string, boolean]>((r) => (resolveClosed = r));
    const peer = role === "client" ? "server" : "client";
    const end = { log, closed, written: [], reading: true } as unknown as End;
    const events: ConnectionEvents = {
      write: (bytes) => {
        end.written.push(bytes);
        if ((role === "server" && tap?.dropFromServer) || tap?.blackhole) return;
        const copy = bytes.slice();
        setTimeout(() => tcpOpen && ends[peer].conn.receive(copy), 1);
      },
      end: closeTcp,
      destroy: () => {
        log.push(["destroy"]);
        closeTcp();
      },
      setReading: (reading) => {
        end.reading = reading;
        log.push(["reading", reading]);
      },
      message: (data, isBinary) => log.push(["message", isBinary ? Buffer.from(data) : Buffer.from(data).toString()]),
      ping: (data) => log.push(["ping", Buffer.from(data).toString()]),
      pong: (data) => log.push(["pong", Buffer.from(data).toString()]),
      error: (error) => log.push(["error", (error as { code?: string }).code, error.closeCode]),
      close: (code, reason, wasClean) => resolveClosed([code, reason, wasClean]),
    };
    end.conn = new Connection(core, { role, ...(role === "client" ? clientOptions : serverOptions) }, events);
    ends[role] = end;
  }
  return ends;
}

const settle = (ms = 30) => new Promise((r) => setTimeout(r, ms));

/** Waits until `done()` holds (a loaded machine may take a while), failing after `ms`. */
async function until(done: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`condition not reached within ${ms} ms`);
    await settle(5);
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe("Connection", () => {
  it("carries text and binary both ways, fragmented when asked, in order", async () => {
    const { client, server } = pair({ fragmentSize: 1000 });
    const big = Buffer.alloc(100_000, 7);
    client.conn.send("héllo");
    client.conn.send(big);
    client.conn.send(new Uint8Array([1, 2]), { binary: false });
    server.conn.send("back");
    await until(() => server.log.length >= 3 && client.log.length >= 1);
    expect(server.log).toEqual([["message", "héllo"], ["message", big], ["message", "\u0001\u0002"]]);
    expect(client.log).toEqual([["message", "back"]]);
    // 100 fragments of 1000 bytes, each with a 4-byte (126) length and mask key.
    expect(client.written[1]!.length).toBe(100 * (1000 + 8));
  });

  it("answers pings with the same payload and reports pongs", async () => {
    const { client, server } = pair();
    client.conn.ping("are you there");
    await until(() => client.log.length >= 1);
    expect(server.log).toEqual([["ping", "are you there"]]);
    expect(client.log).toEqual([["pong", "are you there"]]);
  });

  it("closing handshake started by the client: clean on both sides, the server closes TCP", async () => {
    const { client, server } = pair();
    client.conn.close(1000, "bye");
    expect(client.conn.readyState).toBe(ReadyState.CLOSING);
    expect(() => client.conn.send("late")).toThrow(InvalidStateError);
    expect(await client.closed).toEqual([1000, "bye", true]);
    expect(await server.closed).toEqual([1000, "bye", true]);
    expect(client.conn.readyState).toBe(ReadyState.CLOSED);
  });

  it("closing handshake started by the server, and a close without a code is 1005", async () => {
    const { client, server } = pair();
    server.conn.close();
    expect(await client.closed).toEqual([1005, "", true]);
    expect(await server.closed).toEqual([1005, "", true]);
  });

  it("refuses close codes and reasons an application may not send", () => {
    const { client } = pair();
    for (const code of [999, 1004, 1005, 1006, 1015, 2000, 5000]) expect(() => client.conn.close(code)).toThrow(InvalidCloseError);
    expect(() => client.conn.close(1000, "x".repeat(124))).toThrow(/123 bytes/);
    expect(() => client.conn.close(undefined, "why")).toThrow(/needs a close code/);
    client.conn.close(4000, "x".repeat(123));
  });

  it("a protocol error fails the connection with its close code", async () => {
    const { client, server } = pair();
    // A client frame with a reserved opcode, straight onto the wire.
    server.conn.receive(frame({ opcode: 5, payload: "x" }));
    expect(server.log).toEqual([["error", "WS_ERR_INVALID_OPCODE", 1002]]);
    expect(await server.closed).toEqual([1002, expect.stringContaining("reserved opcode"), false]);
    // The client got a close frame and answered it: from its side the handshake was clean.
    const [code, , wasClean] = await client.closed;
    expect(code).toBe(1002);
    expect(wasClean).toBe(true);
  });

  it("a close timeout drops a peer that never answers the close frame", async () => {
    const { client, server } = pair({ closeTimeout: 50 }, {}, { blackhole: true });
    client.conn.close(1000);
    const [code, , wasClean] = await client.closed;
    expect(client.log).toContainEqual(["destroy"]);
    expect([code, wasClean]).toEqual([1006, false]);
    await server.closed;
  });

  it("heartbeat: a peer that stops answering is declared dead and dropped", async () => {
    const { client, server } = pair({ heartbeat: { interval: 20, timeout: 20 } }, {}, { dropFromServer: true });
    const [code] = await client.closed;
    expect(code).toBe(1006);
    expect(client.log).toContainEqual(["error", "WS_ERR_PEER_TIMEOUT", undefined]);
    expect(client.log).toContainEqual(["destroy"]);
    await server.closed;
  });

  it("heartbeat: a live peer is pinged and stays", async () => {
    // A short interval with a generous timeout: a loaded machine may answer late, not never.
    const { client, server } = pair({ heartbeat: { interval: 20, timeout: 2000 } });
    await settle(200);
    expect(client.log.filter((e) => e[0] === "pong").length).toBeGreaterThan(2);
    expect(client.conn.readyState).toBe(ReadyState.OPEN);
    client.conn.close(1000);
    await server.closed;
  });

  it("idle timeout: closes (1000) after a quiet spell, not while messages flow", async () => {
    // Ticks well inside the timeout, so a loaded machine's late timers don't end it early.
    const { client, server } = pair({ idleTimeout: 400 });
    for (let i = 0; i < 4; i++) {
      await settle(100);
      server.conn.send(`tick ${i}`);
    }
    expect(client.conn.readyState).toBe(ReadyState.OPEN);
    expect(await client.closed).toEqual([1000, "idle timeout", true]);
  });

  it("closes with 1008 when the peer exceeds the message rate, and on a ping flood", async () => {
    const rated = pair({}, { maxMessagesPerSecond: 5 });
    for (let i = 0; i < 20; i++) rated.client.conn.send(`m${i}`);
    expect((await rated.server.closed)[0]).toBe(1008);
    expect(rated.server.log.filter((e) => e[0] === "message")).toHaveLength(5);
    expect(rated.server.log).toContainEqual(["error", "WS_ERR_MESSAGE_RATE", 1008]);

    const flooded = pair({}, { maxControlFramesPerSecond: 10 });
    for (let i = 0; i < 30; i++) flooded.client.conn.ping();
    expect((await flooded.server.closed)[0]).toBe(1008);
    expect(flooded.server.log).toContainEqual(["error", "WS_ERR_CONTROL_RATE", 1008]);
  });

  describe("once failed", () => {
    /** A server connection whose peer never closes TCP (half-open): only our timers end it. */
    function halfOpen(options: Partial<ConnectionOptions>) {
      const log: Log = [];
      const conn = new Connection(core, { role: "server", ...options }, {
        write: (bytes) => log.push(["write", bytes[0]]),
        end: () => log.push(["end"]),
        destroy: () => log.push(["destroy"]),
        stopReading: () => log.push(["stop reading"]),
        message: () => log.push(["message"]),
        ping: () => log.push(["ping"]),
        error: (error) => log.push(["error", (error as { code?: string }).code, error.closeCode]),
      });
      return { conn, log, parsedPings: vi.spyOn(conn, "onPing"), parsedMessages: vi.spyOn(conn, "onMessage") };
    }
    const pings = (n: number) => Buffer.concat(Array.from({ length: n }, () => frame({ opcode: 9 })));
    const texts = (n: number) => Buffer.concat(Array.from({ length: n }, (_, i) => frame({ opcode: 1, payload: `m${i}` })));

    it("a ping flood: nothing after the failing ping is parsed, in that chunk or later ones, and the core slot is free at once", () => {
      const { conn, log, parsedPings } = halfOpen({ maxControlFramesPerSecond: 10 });
      const freeSlots = core.freeSlots;
      conn.receive(pings(1000));
      expect(parsedPings).toHaveBeenCalledTimes(11);
      expect(log.filter((e) => e[0] === "ping")).toHaveLength(10);
      expect(log.filter((e) => e[0] === "error")).toEqual([["error", "WS_ERR_CONTROL_RATE", 1008]]);
      expect(log).toContainEqual(["write", 0x88]);
      expect(core.freeSlots).toBe(freeSlots + 1);
      conn.receive(pings(1000));
      expect(parsedPings).toHaveBeenCalledTimes(11);
      conn.transportClosed();
    });

    it("a message-rate failure delivers and parses nothing more", () => {
      const { conn, log, parsedMessages } = halfOpen({ maxMessagesPerSecond: 5 });
      conn.receive(texts(100));
      conn.receive(texts(100));
      expect(parsedMessages).toHaveBeenCalledTimes(6);
      expect(log.filter((e) => e[0] === "message")).toHaveLength(5);
      conn.transportClosed();
    });

    it("reads a little more (the peer's close frame and TCP close), then stops reading for good", () => {
      const { conn, log } = halfOpen({ maxControlFramesPerSecond: 10 });
      conn.receive(pings(11));
      conn.receive(Buffer.alloc(1000));
      expect(log).not.toContainEqual(["stop reading"]);
      conn.receive(Buffer.alloc(64 * 1024));
      expect(log).toContainEqual(["stop reading"]);
      conn.transportClosed();
    });

    it("drops a half-open peer after failGraceTimeout, not closeTimeout; a normal close still waits closeTimeout", async () => {
      vi.useFakeTimers();
      const failed = halfOpen({ maxControlFramesPerSecond: 10, failGraceTimeout: 1000, closeTimeout: 30_000 });
      failed.conn.receive(pings(11));
      expect(failed.log).toContainEqual(["end"]);
      vi.advanceTimersByTime(999);
      expect(failed.log).not.toContainEqual(["destroy"]);
      vi.advanceTimersByTime(1);
      expect(failed.log).toContainEqual(["destroy"]);

      const closing = halfOpen({ failGraceTimeout: 1000, closeTimeout: 30_000 });
      closing.conn.close(1000);
      vi.advanceTimersByTime(29_999);
      expect(closing.log).not.toContainEqual(["destroy"]);
      vi.advanceTimersByTime(1);
      expect(closing.log).toContainEqual(["destroy"]);
      // A failure during the closing handshake shortens the wait to the grace.
      const late = halfOpen({ maxControlFramesPerSecond: 10, failGraceTimeout: 1000, closeTimeout: 30_000 });
      late.conn.close(1000);
      late.conn.receive(pings(11));
      vi.advanceTimersByTime(1000);
      expect(late.log).toContainEqual(["destroy"]);
      for (const { conn } of [failed, closing, late]) conn.transportClosed();
    });

    it("the transport can fail it too (a peer too slow to read): the same close, error and grace", async () => {
      vi.useFakeTimers();
      const { conn, log } = halfOpen({ failGraceTimeout: 500 });
      conn.fail(new PolicyViolationError("WS_ERR_SLOW_READER", "too slow"));
      expect(log).toEqual([["error", "WS_ERR_SLOW_READER", 1008], ["write", 0x88], ["end"]]);
      expect(conn.readyState).toBe(ReadyState.CLOSING);
      conn.receive(texts(3));
      expect(log.filter((e) => e[0] === "message")).toHaveLength(0);
      vi.advanceTimersByTime(500);
      expect(log.at(-1)).toEqual(["destroy"]);
      conn.transportClosed();
    });
  });

  describe("with permessage-deflate", () => {
    const deflatePair = (serverExtra: Partial<ConnectionOptions> = {}) => {
      const params = { clientNoContextTakeover: false };
      return pair(
        { deflate: new PerMessageDeflate({ role: "client", params, maxMessage: 0 }), compressThreshold: 100 },
        { deflate: new PerMessageDeflate({ role: "server", params, maxMessage: 1 << 20 }), compressThreshold: 100, ...serverExtra },
      );
    };

    it("keeps order across compressed, uncompressed and control frames", async () => {
      const { client, server } = deflatePair();
      const long = "sensor ".repeat(500);
      client.conn.send(long);
      client.conn.send("short");
      client.conn.ping("p");
      client.conn.send(Buffer.alloc(5000, 1));
      await until(() => server.log.length >= 4);
      expect(server.log).toEqual([["message", long], ["message", "short"], ["ping", "p"], ["message", Buffer.alloc(5000, 1)]]);
      // The long text went compressed: far fewer bytes than its 3,500 characters.
      expect(client.written[0]!.length).toBeLessThan(200);
      expect(client.written[0]![0]! & 0x40).toBe(0x40);
    });

    it("a decompressed message over maxMessage closes with 1009", async () => {
      const { client, server } = deflatePair();
      client.conn.send(Buffer.alloc(2 << 20));
      expect((await server.closed)[0]).toBe(1009);
      expect(server.log).toContainEqual(["error", "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH", 1009]);
    });

    it("invalid UTF-8 inside a compressed text message closes with 1007", async () => {
      const { server } = deflatePair();
      const deflater = new PerMessageDeflate({ role: "client", params: {}, maxMessage: 0 });
      const compressed = await deflater.compress(Buffer.from([0x61, 0xc0, 0xaf, 0x62]));
      server.conn.receive(frame({ opcode: 1, rsv1: true, payload: compressed }));
      expect((await server.closed)[0]).toBe(1007);
    });

    it("pauses reading while too many received messages wait on decompression", async () => {
      const { client, server } = deflatePair({ maxQueuedMessages: 3 });
      for (let i = 0; i < 10; i++) client.conn.send(`${i} `.repeat(200));
      await until(() => server.log.filter((e) => e[0] === "message").length >= 10 && server.reading);
      expect(server.log.filter((e) => e[0] === "message")).toHaveLength(10);
      expect(server.log).toContainEqual(["reading", false]);
      expect(server.log.filter((e) => e[0] === "message").at(-1)).toEqual(["message", "9 ".repeat(200)]);
      expect(server.reading).toBe(true);
    });

    it("the close timeout bounds the wait for a close frame queued behind inflation once the transport is gone", async () => {
      const { server } = deflatePair({ closeTimeout: 50 });
      // ~0.3 s of zlib work per 4 MiB: still inflating long after the 50 ms timeout.
      server.conn.receive(Buffer.concat([frame({ opcode: 2, rsv1: true, payload: workBomb(8 << 20) }), frame({ opcode: 8, payload: closePayload(4001, "bye") })]));
      const started = performance.now();
      server.conn.transportClosed();
      expect(server.conn.readyState).toBe(ReadyState.CLOSING);
      expect(await server.closed).toEqual([1006, "", false]);
      expect(performance.now() - started).toBeGreaterThanOrEqual(45);
      expect(server.log.filter((e) => e[0] === "message"), "closed before the inflation finished").toEqual([]);
    });
  });
});
