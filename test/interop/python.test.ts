// Interoperability with Python's `websockets` 10.4 (Debian python3-websockets, installed with apt
// when missing), an implementation we did not write, in both directions (our client → its server,
// its client → our server), with compression off and on. The Python side is
// test/support/python/echo_server.py and client.py, each a separate process stopped by its PID.
//
// With compression on, our side compresses every message (compressThreshold 0); websockets
// compresses every message too, and its server asks for 12-bit windows both ways.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket, type ClientOptions } from "../../src/index.js";
import {
  ASTRAL_TEXT, ECHO_SIZES, Inbox, MAX_MESSAGE, binaryOfSize, closeOf, expectSame, nextEvent, openClient, replyTo, sha256, textOfSize,
  withDeadline,
} from "../support/interop.js";
import { ensurePythonWebsockets, runPythonClient, startPythonEchoServer, type PyEvent, type PyStep, type PythonEchoServer } from "../support/python.js";
import { startRoutedServer, type RoutedServer } from "../support/routed-server.js";

let files: string;
let fileCount = 0;
let version = "";
beforeAll(async () => {
  // A missing package is installed (apt) here, or the suite fails with the reason.
  version = await ensurePythonWebsockets();
  files = mkdtempSync(join(tmpdir(), "edgews-python-"));
}, 300_000);
afterAll(() => {
  if (files) rmSync(files, { recursive: true, force: true });
});

it("runs against Python websockets 10.4", () => {
  expect(version).toBe("10.4");
});

/** Writes `data` to a file for client.py's send_file step (large payloads don't go through stdin). */
function payloadFile(data: Buffer): string {
  const path = join(files, `payload-${++fileCount}`);
  writeFileSync(path, data);
  return path;
}

const sendStep = (data: Buffer, binary: boolean): PyStep => ({ send_file: payloadFile(data), binary });
const messagesOf = (events: PyEvent[]) => events.filter((e) => e.event === "message");
const closedOf = (events: PyEvent[]) => events.find((e) => e.event === "closed");
const described = (data: Buffer, isBinary: boolean) => ({ type: isBinary ? "binary" : "text", size: data.length, sha256: sha256(data) });

let unique = 0;
/** A path that no other test uses (the query tells connections apart). */
const pathFor = (route: string) => `${route}?t=${++unique}`;

const clients: WebSocket[] = [];
afterEach(() => {
  for (const ws of clients.splice(0)) ws.terminate();
});

describe.each([false, true])("compression %s", (compression) => {
  describe("edgews client → Python websockets server", () => {
    let py: PythonEchoServer;
    beforeAll(async () => {
      py = await startPythonEchoServer({ compression });
    }, 60_000);
    afterAll(async () => {
      await py?.stop();
    });

    async function connect(path: string, protocols?: string[], options: ClientOptions = {}): Promise<WebSocket> {
      const ws = await openClient(py.url + path, protocols, { perMessageDeflate: compression, compressThreshold: 0, ...options });
      clients.push(ws);
      return ws;
    }
    /** For paths where the server sends at once: listens before the handshake completes. */
    async function connectWithInbox(path: string): Promise<{ ws: WebSocket; inbox: Inbox }> {
      const ws = new WebSocket(py.url + path, undefined, { perMessageDeflate: compression, compressThreshold: 0 });
      clients.push(ws);
      const inbox = new Inbox(ws);
      await nextEvent(ws, "open", 10_000);
      return { ws, inbox };
    }
    const pyOpened = (path: string) => py.waitFor((e) => e.event === "open" && e.path === path, `"open" of ${path}`);
    const pyClosed = (path: string) => py.waitFor((e) => e.event === "closed" && e.path === path, `"closed" of ${path}`);

    async function expectEcho(ws: WebSocket, payload: Buffer, isBinary: boolean): Promise<void> {
      expectSame(await replyTo(ws, () => ws.send(isBinary ? payload : payload.toString(), { binary: isBinary })), payload, isBinary);
    }

    it(compression ? "negotiates permessage-deflate with the server's 12-bit windows" : "negotiates no extension", async () => {
      const path = pathFor("/echo");
      const ws = await connect(path);
      const opened = await pyOpened(path);
      if (compression) {
        expect(ws.extensions).toMatch(/^permessage-deflate\b/);
        expect(ws.extensions).toMatch(/server_max_window_bits=12/);
        expect(opened.extensions).toMatch(/^permessage-deflate\b/);
        expect(opened.offered).toMatch(/permessage-deflate/);
      } else {
        expect(ws.extensions).toBe("");
        expect(opened.extensions).toBeNull();
        expect(opened.offered).toBeNull();
      }
    });

    it("echoes text and binary of 0 B .. 1 MiB, and astral UTF-8", async () => {
      const ws = await connect(pathFor("/echo"));
      for (const size of ECHO_SIZES) {
        await expectEcho(ws, textOfSize(size), false);
        await expectEcho(ws, binaryOfSize(size), true);
      }
      await expectEcho(ws, Buffer.from(ASTRAL_TEXT), false);
    });

    it("echoes 16 MiB of text (our default maxMessage, exactly)", async () => {
      await expectEcho(await connect(pathFor("/echo")), textOfSize(MAX_MESSAGE), false);
    }, 40_000);

    // Deflated, 16 MiB of random bytes exceed 16 MiB on the wire (see ws.test.ts).
    it(
      "echoes 16 MiB of random binary",
      async () => {
        await expectEcho(await connect(pathFor("/echo")), binaryOfSize(MAX_MESSAGE), true);
      },
      40_000,
    );

    it("refuses 16 MiB + 1 byte from Python with 1009", async () => {
      const path = pathFor(`/send/${MAX_MESSAGE + 1}`);
      const ws = new WebSocket(py.url + path, undefined, { perMessageDeflate: compression });
      clients.push(ws);
      const error = nextEvent(ws, "error");
      const closed = closeOf(ws);
      let delivered = false;
      ws.on("message", () => (delivered = true));
      expect(((await error)[0] as { closeCode?: number }).closeCode).toBe(1009);
      expect(await closed).toMatchObject({ code: 1009, wasClean: false });
      expect(await pyClosed(path)).toMatchObject({ code: 1009 });
      expect(delivered).toBe(false);
    }, 40_000);

    it("receives Python's fragmented messages whole", async () => {
      const { inbox } = await connectWithInbox(pathFor("/fragments"));
      expectSame(await inbox.nextMessage(), Buffer.from("frag-1 ✓ 𝄞 frag-2 😀 end"), false);
      expectSame(await inbox.nextMessage(), Buffer.concat([Buffer.from([0, 1]), Buffer.alloc(70_000)]), true);
    });

    it("our fragmentSize: Python gets each message whole, text fragments split inside characters", async () => {
      const ws = await connect(pathFor("/echo"), undefined, { fragmentSize: 1000 });
      await expectEcho(ws, textOfSize(10_007), false);
      await expectEcho(ws, Buffer.concat([Buffer.alloc(998, 0x61), Buffer.from("𝄞 after")]), false);
      await expectEcho(ws, binaryOfSize(70_000), true);
    });

    it("pings both ways: ours.ping() resolves with the RTT; Python's ping gets our pong", async () => {
      const { ws, inbox } = await connectWithInbox(pathFor("/ping/from-python"));
      expect((await inbox.nextPing()).toString()).toBe("from-python");
      // The server sends "pong DATA" once our pong reached it.
      expect((await inbox.nextMessage()).data.toString()).toBe("pong from-python");
      const rtt = await withDeadline(ws.ping("from edgews ✓"), 5000, "the pong to our ping");
      expect(rtt).toBeGreaterThanOrEqual(0);
      expect(rtt).toBeLessThan(5000);
    });

    it("subprotocol: Python's server picks the one we both know", async () => {
      const path = pathFor("/echo");
      const ws = await connect(path, ["chat.v0", "chat.v2"]);
      expect(ws.protocol).toBe("chat.v2");
      expect((await pyOpened(path)).subprotocol).toBe("chat.v2");
    });

    const closes: Array<[string, number | undefined, string, number]> = [
      ["1000", 1000, "", 1000],
      ["1001", 1001, "", 1001],
      ["4000 with a reason", 4000, "bye ✓", 4000],
      ["no code (1005)", undefined, "", 1005],
    ];

    it.each(closes)("we close with %s: both sides agree, cleanly", async (_name, code, reason, expected) => {
      const path = pathFor("/echo");
      const ws = await connect(path);
      const closed = closeOf(ws, 10_000);
      const started = performance.now();
      ws.close(code, code === undefined ? undefined : reason);
      expect(await closed).toEqual({ code: expected, reason, wasClean: true });
      expect(await pyClosed(path)).toMatchObject({ code: expected, reason });
      expect(performance.now() - started).toBeLessThan(3000);
    });

    it.each(closes)("Python closes with %s: both sides agree, cleanly", async (_name, code, reason, expected) => {
      const path = pathFor(`/close/${code ?? "none"}/${encodeURIComponent(reason)}`);
      const ws = new WebSocket(py.url + path, undefined, { perMessageDeflate: compression });
      clients.push(ws);
      const closed = closeOf(ws, 10_000);
      expect(await closed).toEqual({ code: expected, reason, wasClean: true });
      expect(await pyClosed(path)).toMatchObject({ code: expected, reason });
    });
  });

  describe("Python websockets client → edgews server", () => {
    let server: RoutedServer;
    beforeAll(async () => {
      server = await startRoutedServer({ perMessageDeflate: compression, compressThreshold: 0, handleProtocols: (offered) => (offered.has("chat.v2") ? "chat.v2" : false) });
    });
    afterAll(async () => {
      await server?.close();
    });
    const run = (path: string, steps: PyStep[], options: { subprotocols?: string[] } = {}) =>
      runPythonClient(server.url + path, steps, { compression, ...options });

    it(compression ? "negotiates permessage-deflate" : "negotiates no extension", async () => {
      const path = pathFor("/echo");
      const events = await run(path, []);
      const side = await server.connection(path);
      const opened = events.find((e) => e.event === "open");
      if (compression) {
        expect(side.ws.extensions).toMatch(/^permessage-deflate\b/);
        expect(opened?.extensions).toMatch(/^permessage-deflate\b/);
      } else {
        expect(side.ws.extensions).toBe("");
        expect(opened?.extensions).toBeNull();
      }
      expect(closedOf(events)).toMatchObject({ code: 1000 });
      expect(await side.closed).toEqual({ code: 1000, reason: "", wasClean: true });
    });

    it("echoes text and binary of 0 B .. 1 MiB, and astral UTF-8", async () => {
      const sent: Array<[Buffer, boolean]> = [];
      for (const size of ECHO_SIZES) sent.push([textOfSize(size), false], [binaryOfSize(size), true]);
      sent.push([Buffer.from(ASTRAL_TEXT), false]);
      const path = pathFor("/echo");
      const events = await run(path, [...sent.map(([data, binary]) => sendStep(data, binary)), { recv: sent.length }]);
      const expected = sent.map(([data, binary]) => described(data, binary));
      expect(messagesOf(events).map(({ type, size, sha256 }) => ({ type, size, sha256 }))).toEqual(expected);
      expect(messagesOf(events).at(-1)?.text).toBe(ASTRAL_TEXT);
      const side = await server.connection(path);
      expect(side.messages.map((m) => ({ type: m.isBinary ? "binary" : "text", size: m.size, sha256: m.sha256 }))).toEqual(expected);
    });

    it("echoes 16 MiB of text (our default maxMessage, exactly)", async () => {
      const text = textOfSize(MAX_MESSAGE);
      const events = await run(pathFor("/echo"), [sendStep(text, false), { recv: 1 }]);
      expect(messagesOf(events)).toMatchObject([described(text, false)]);
    }, 40_000);

    it(
      "echoes 16 MiB of random binary",
      async () => {
        const binary = binaryOfSize(MAX_MESSAGE);
        const events = await run(pathFor("/echo"), [sendStep(binary, true), { recv: 1 }]);
        expect(messagesOf(events)).toMatchObject([described(binary, true)]);
      },
      40_000,
    );

    it("refuses 16 MiB + 1 byte from Python with 1009", async () => {
      const path = pathFor("/echo");
      const events = await run(path, [sendStep(Buffer.alloc(MAX_MESSAGE + 1, 0x61), true), { wait_closed: true }]);
      expect(messagesOf(events)).toEqual([]);
      expect(closedOf(events)).toMatchObject({ code: 1009 });
      const side = await server.connection(path);
      expect(await side.closed).toMatchObject({ code: 1009, wasClean: false });
      expect(side.messages).toEqual([]);
    }, 40_000);

    it("receives Python's fragmented messages whole (websockets sends an iterable as fragments)", async () => {
      const path = pathFor("/echo");
      const b64 = (data: Buffer | string) => Buffer.from(data).toString("base64");
      const binary = binaryOfSize(70_000);
      const events = await run(path, [
        { send_fragments_b64: ["frag-1 ✓ ", "𝄞 ", "", "😀 end"].map(b64), binary: false },
        { send_fragments_b64: [b64(binary.subarray(0, 1)), "", b64(binary.subarray(1))], binary: true },
        { recv: 2 },
      ]);
      const text = Buffer.from("frag-1 ✓ 𝄞 😀 end");
      expect(messagesOf(events)).toMatchObject([{ ...described(text, false), text: text.toString() }, described(binary, true)]);
      const side = await server.connection(path);
      expect(side.messages).toEqual([
        { size: text.length, isBinary: false, sha256: sha256(text) },
        { size: binary.length, isBinary: true, sha256: sha256(binary) },
      ]);
    });

    it("our server's fragmentSize: Python gets each message whole, text fragments split inside characters", async () => {
      const fragmenting = await startRoutedServer({ perMessageDeflate: compression, compressThreshold: 0, fragmentSize: 1000 });
      try {
        const straddling = Buffer.concat([Buffer.alloc(998, 0x61), Buffer.from("𝄞 after")]);
        const sent: Array<[Buffer, boolean]> = [[textOfSize(10_007), false], [straddling, false], [binaryOfSize(70_000), true]];
        const events = await runPythonClient(`${fragmenting.url}/echo`, [...sent.map(([d, b]) => sendStep(d, b)), { recv: sent.length }], { compression });
        expect(messagesOf(events)).toMatchObject(sent.map(([d, b]) => described(d, b)));
      } finally {
        await fragmenting.close();
      }
    });

    it("pings both ways: Python's ping gets our pong; our ping resolves with the RTT", async () => {
      const path = pathFor("/ping/from-edgews");
      const events = await run(path, [{ recv: 1 }, { ping: "from python ✓" }]);
      const side = await server.connection(path);
      expect(messagesOf(events)).toMatchObject([{ type: "text", text: "pong from-edgews" }]);
      expect(await withDeadline(side.rtt!, 5000, "our ping's pong")).toBeGreaterThanOrEqual(0);
      expect(events.find((e) => e.event === "pong")).toMatchObject({ data: "from python ✓" });
      expect(side.pings).toEqual(["from python ✓"]);
    });

    it("subprotocol: our server picks one that Python offered", async () => {
      const path = pathFor("/echo");
      const events = await run(path, [], { subprotocols: ["chat.v1", "chat.v2"] });
      expect(events.find((e) => e.event === "open")).toMatchObject({ subprotocol: "chat.v2" });
      expect((await server.connection(path)).ws.protocol).toBe("chat.v2");
    });

    const closes: Array<[string, number | undefined, string, number]> = [
      ["1000", 1000, "", 1000],
      ["1001", 1001, "going away", 1001],
      ["4000 with a reason", 4000, "bye ✓", 4000],
      ["no code (1005)", undefined, "", 1005],
    ];

    it.each(closes)("Python closes with %s: both sides agree, cleanly", async (_name, code, reason, expected) => {
      const path = pathFor("/echo");
      const events = await run(path, [{ close: code === undefined ? {} : { code, reason } }]);
      expect(closedOf(events)).toMatchObject({ code: expected, reason });
      expect(await (await server.connection(path)).closed).toEqual({ code: expected, reason, wasClean: true });
    });

    it.each(closes)("we close with %s: both sides agree, cleanly", async (_name, code, reason, expected) => {
      const path = pathFor(`/close/${code ?? "none"}/${encodeURIComponent(reason)}`);
      const started = performance.now();
      const events = await run(path, [{ wait_closed: true }]);
      expect(closedOf(events)).toMatchObject({ code: expected, reason });
      expect(await (await server.connection(path)).closed).toEqual({ code: expected, reason, wasClean: true });
      expect(performance.now() - started).toBeLessThan(5000);
    });
  });
});
