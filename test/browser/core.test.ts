// The WASM core in a real browser: headless Chromium loads src/core/index.ts bundled by esbuild
// for the browser, fetches build/edgews-*.wasm over http, and encodes, parses and validates with
// it. What the page returns is checked here, the encoder's wire bytes against a decoder written
// for this test.
//
// Functions given to page.evaluate run in the page: they may use only their argument, browser
// globals and `window.edgews` (the bundle's exports), never anything imported here.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as Edgews from "../../src/core/index.js";
import { encodedSize } from "../../src/core/encoder.js";
import { launchChromium, type ChromiumSession } from "../support/chromium.js";
import { BUNDLE_PATH, serveCoreSite, type CoreSite } from "./site.js";

let site: CoreSite | undefined;
let browser: ChromiumSession | undefined;
const pageErrors: string[] = [];
const offSite: string[] = [];

beforeAll(async () => {
  const t0 = performance.now();
  site = await serveCoreSite();
  const t1 = performance.now();
  browser = await launchChromium(); // installs Debian's chromium first when it is missing
  const t2 = performance.now();
  const { page } = browser;
  page.on("pageerror", (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") pageErrors.push(`console.error: ${m.text()}`);
  });
  page.on("request", (r) => {
    if (!r.url().startsWith(`${site!.origin}/`)) offSite.push(r.url());
  });
  await page.goto(`${site.origin}/index.html`);
  await page.waitForFunction(() => (window as unknown as { edgewsLoaded?: string }).edgewsLoaded !== undefined, null, { timeout: 10_000 });
  const loaded = await page.evaluate(() => (window as unknown as { edgewsLoaded: string }).edgewsLoaded);
  if (loaded !== "ok") throw new Error(`the page could not import ${BUNDLE_PATH}: ${loaded}`);
  console.log(
    `chromium ${browser.version}: bundle + server ${Math.round(t1 - t0)} ms, ` +
      `install check + launch ${Math.round(t2 - t1)} ms, page ${Math.round(performance.now() - t2)} ms`,
  );
}, 600_000); // a first run installs chromium with apt (about 120 MB)

afterAll(async () => {
  await browser?.close();
  await site?.close();
});

function page() {
  if (!browser) throw new Error("chromium did not start");
  return browser.page;
}

// ---- What the page does -------------------------------------------------------------------

interface Delivered {
  type: "message" | "ping" | "pong" | "close" | "error";
  isBinary?: boolean;
  compressed?: boolean;
  /** Payload as base64. */
  data?: string;
  /** Constructor of the payload handed out: Uint8Array in a browser (Buffer in Node). */
  dataType?: string;
  code?: number | string;
  reason?: string;
  closeCode?: number;
}

interface CodecRun {
  flavour: string;
  memoryBefore: number;
  memoryAfter: number;
  viewBytesAfter: number;
  loadMs: number;
  /** Wire bytes of each encode() call, base64. */
  frames: string[];
  pushes: number;
  delivered: Delivered[];
  freeSlotsBefore: number;
  freeSlotsAfter: number;
}

const TEXT = "héllo wörld ✓ 🚀";
const BINARY_BYTES = 100 * 1024;
const FIRST_PART = 60 * 1024;
const FRAGMENT = 16 * 1024;
const CHUNK = 1460;

/** The 100 KiB message, the same pattern the page builds. */
function binaryPayload(): Buffer {
  const b = Buffer.alloc(BINARY_BYTES);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

/**
 * In the page: load a core, encode a text message, a 100 KiB binary message in two encode calls
 * of 16 KiB fragments with a ping between them (control frames may sit between fragments), and
 * a close, all masked; then parse the whole stream as a server, pushed in 1460-byte chunks.
 */
function codecRun(simd: boolean | undefined): Promise<CodecRun> {
  return page().evaluate(
    async ({ simd, text, binaryBytes, firstPart, fragment, chunk }) => {
      const E = (window as unknown as { edgews: typeof Edgews }).edgews;
      const b64 = (u: Uint8Array): string => {
        let s = "";
        for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode(...u.subarray(i, i + 0x8000));
        return btoa(s);
      };
      const t0 = performance.now();
      const core = await E.loadCore(simd === undefined ? {} : { simd });
      const loadMs = performance.now() - t0;
      const memoryBefore = core.memoryBytes;
      const freeSlotsBefore = core.freeSlots;

      const utf8 = new TextEncoder();
      const binary = new Uint8Array(binaryBytes);
      for (let i = 0; i < binary.length; i++) binary[i] = (i * 31 + 7) & 0xff;
      const reason = utf8.encode("bye ✓");
      const closePayload = new Uint8Array(2 + reason.length);
      closePayload[0] = 1001 >> 8;
      closePayload[1] = 1001 & 0xff;
      closePayload.set(reason, 2);

      const encoder = new E.FrameEncoder(core, { mask: true });
      const frames = [
        encoder.encode(E.Opcode.Text, utf8.encode(text)),
        encoder.encode(E.Opcode.Binary, binary.subarray(0, firstPart), { fin: false, fragmentSize: fragment }),
        encoder.encode(E.Opcode.Ping, utf8.encode("ping-1")),
        encoder.encode(E.Opcode.Continuation, binary.subarray(firstPart), { fragmentSize: fragment }),
        encoder.encode(E.Opcode.Close, closePayload),
      ];
      const wire = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
      frames.reduce((at, f) => (wire.set(f, at), at + f.length), 0);

      const delivered: Delivered[] = [];
      const parser = new E.FrameParser(core, { role: "server" }, {
        onMessage: (data, isBinary, compressed) =>
          delivered.push({ type: "message", isBinary, compressed, data: b64(data), dataType: data.constructor.name }),
        onPing: (data) => delivered.push({ type: "ping", data: b64(data) }),
        onPong: (data) => delivered.push({ type: "pong", data: b64(data) }),
        onClose: (code, reason) => delivered.push({ type: "close", code, reason }),
        onError: (e) => delivered.push({ type: "error", code: e.code, closeCode: e.closeCode }),
      });
      let pushes = 0;
      for (let off = 0; off < wire.length; off += chunk, pushes++) parser.push(wire.subarray(off, off + chunk));
      parser.destroy();

      return {
        flavour: core.flavour,
        loadMs,
        memoryBefore,
        memoryAfter: core.memoryBytes,
        viewBytesAfter: core.mem.byteLength, // 0 if the view had detached
        frames: frames.map(b64),
        pushes,
        delivered,
        freeSlotsBefore,
        freeSlotsAfter: core.freeSlots,
      };
    },
    { simd, text: TEXT, binaryBytes: BINARY_BYTES, firstPart: FIRST_PART, fragment: FRAGMENT, chunk: CHUNK },
  );
}

// ---- A decoder for the encoder's output, independent of the core ------------------------------

interface WireFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  key: string;
  payload: Buffer;
}

function decodeFrames(bytes: Buffer): WireFrame[] {
  const frames: WireFrame[] = [];
  let at = 0;
  while (at < bytes.length) {
    const b0 = bytes[at]!;
    const b1 = bytes[at + 1]!;
    let length = b1 & 0x7f;
    at += 2;
    if (length === 126) (length = bytes.readUInt16BE(at)), (at += 2);
    else if (length === 127) (length = Number(bytes.readBigUInt64BE(at))), (at += 8);
    const masked = (b1 & 0x80) !== 0;
    const key = masked ? bytes.subarray(at, at + 4) : Buffer.alloc(4);
    if (masked) at += 4;
    const payload = Buffer.from(bytes.subarray(at, at + length));
    if (payload.length !== length) throw new Error(`frame at ${at} is cut short: ${payload.length} of ${length} bytes`);
    for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, key: key.toString("hex"), payload });
    at += length;
  }
  return frames;
}

const shape = (frames: WireFrame[]) => frames.map((f) => ({ fin: f.fin, rsv: f.rsv, opcode: f.opcode, masked: f.masked, length: f.payload.length }));

// ---- Tests ----------------------------------------------------------------------------------

describe("the WASM core in headless Chromium", () => {
  it("bundles for the browser with node:* reached only through a dynamic import", () => {
    // The Node-only branch of the loader is `await import("node:fs/promises")` for file: URLs.
    // A static node:* import would break the module in every browser; a dynamic one is only
    // resolved if the branch runs, which the page tests below show it doesn't (the core loads,
    // no page error, no request for it).
    expect(site!.bundleImports).toEqual([{ path: "node:fs/promises", kind: "dynamic-import", external: true }]);
    expect(site!.bundleBytes).toBeGreaterThan(1000);
  });

  // Both codec runs happen once, on first use, so any test of the file can run on its own.
  let runs: Promise<Record<"simd" | "scalar", CodecRun>> | undefined;
  const codecRuns = () => (runs ??= (async () => ({ simd: await codecRun(undefined), scalar: await codecRun(false) }))());

  it('loadCore() picks "simd" in Chromium, { simd: false } "scalar"', async () => {
    const { simd, scalar } = await codecRuns();
    expect(simd.flavour).toBe("simd");
    expect(scalar.flavour).toBe("scalar");
    // Each .wasm was fetched over http from where the loader's relative URL points, as application/wasm.
    const wasmRequests = site!.requests.filter((r) => r.path.endsWith(".wasm"));
    expect(new Set(wasmRequests.map((r) => r.path))).toEqual(new Set(["/build/edgews-simd.wasm", "/build/edgews-scalar.wasm"]));
    for (const r of wasmRequests) expect(r).toMatchObject({ status: 200, contentType: "application/wasm" });
  });

  for (const flavour of ["simd", "scalar"] as const) {
    describe(`${flavour} core`, () => {
      const run = async (): Promise<CodecRun> => (await codecRuns())[flavour];

      it("encodes masked frames a plain decoder reads back: text, 100 KiB binary in fragments, ping, close", async () => {
        const r = await run();
        const [text, part1, ping, part2, close] = r.frames.map((f) => decodeFrames(Buffer.from(f, "base64")));
        const binary = binaryPayload();
        const textBytes = Buffer.from(TEXT);
        const frame = (opcode: number, length: number, fin: boolean) => ({ fin, rsv: 0, opcode, masked: true, length });

        expect(shape(text!)).toEqual([frame(1, textBytes.length, true)]);
        expect(text![0]!.payload).toEqual(textBytes);
        // 60 KiB in 16 KiB fragments, message left open; then 40 KiB of continuations ending it.
        expect(shape(part1!)).toEqual([frame(2, FRAGMENT, false), frame(0, FRAGMENT, false), frame(0, FRAGMENT, false), frame(0, 12 * 1024, false)]);
        expect(shape(ping!)).toEqual([frame(9, 6, true)]);
        expect(ping![0]!.payload.toString()).toBe("ping-1");
        expect(shape(part2!)).toEqual([frame(0, FRAGMENT, false), frame(0, FRAGMENT, false), frame(0, 8 * 1024, true)]);
        const joined = Buffer.concat([...part1!, ...part2!].map((f) => f.payload));
        expect(joined.length).toBe(binary.length);
        expect(joined.equals(binary)).toBe(true); // (toEqual on 100 KiB buffers takes ~0.3 s)
        expect(shape(close!)).toEqual([frame(8, 2 + Buffer.byteLength("bye ✓"), true)]);
        expect(close![0]!.payload.readUInt16BE(0)).toBe(1001);
        expect(close![0]!.payload.subarray(2).toString()).toBe("bye ✓");

        // Sizes as encodedSize says, and fresh keys from the page's crypto.getRandomValues.
        expect(Buffer.from(r.frames[1]!, "base64").length).toBe(encodedSize(FIRST_PART, true, FRAGMENT));
        const all = [text, part1, ping, part2, close].flat() as WireFrame[];
        expect(new Set(all.map((f) => f.key)).size).toBeGreaterThan(all.length - 2);
      });

      it("parses the stream as a server from 1460-byte pushes and delivers every message in order", async () => {
        const r = await run();
        const wireBytes = r.frames.reduce((n, f) => n + Buffer.from(f, "base64").length, 0);
        expect(r.pushes).toBe(Math.ceil(wireBytes / CHUNK));
        const d = r.delivered;
        expect(d.map((x) => x.type)).toEqual(["message", "ping", "message", "close"]);
        expect(d[0]).toEqual({ type: "message", isBinary: false, compressed: false, data: Buffer.from(TEXT).toString("base64"), dataType: "Uint8Array" });
        expect(Buffer.from(d[1]!.data!, "base64").toString()).toBe("ping-1");
        expect(d[2]!.isBinary).toBe(true);
        expect(d[2]!.compressed).toBe(false);
        expect(d[2]!.dataType).toBe("Uint8Array");
        const message = Buffer.from(d[2]!.data!, "base64");
        expect(message.length).toBe(BINARY_BYTES);
        expect(message.equals(binaryPayload())).toBe(true);
        expect(d[3]).toEqual({ type: "close", code: 1001, reason: "bye ✓" });
        expect(r.freeSlotsAfter).toBe(r.freeSlotsBefore); // destroy() gave the slot back
      });

      it("keeps the same memory throughout", async () => {
        const r = await run();
        expect(r.memoryBefore).toBeGreaterThan(0);
        expect(r.memoryAfter).toBe(r.memoryBefore);
        expect(r.viewBytesAfter).toBe(r.memoryBefore);
      });
    });
  }

  it("isValidUtf8 accepts well-formed UTF-8 and rejects the rest, in both flavours", async () => {
    const results = await page().evaluate(async () => {
      const E = (window as unknown as { edgews: typeof Edgews }).edgews;
      const utf8 = new TextEncoder();
      const long = utf8.encode("✓🚀é".repeat(20_000)); // 180 KB: sequences straddle the 64 KiB arena pieces
      const longBad = new Uint8Array(long.length + 1);
      longBad.set(long);
      longBad[long.length] = 0xff;
      const cases: Record<string, Uint8Array> = {
        empty: new Uint8Array(0),
        ascii: utf8.encode("hello"),
        multibyte: utf8.encode("héllo wörld ✓ 🚀"),
        maxCodePoint: new Uint8Array([0xf4, 0x8f, 0xbf, 0xbf]),
        long,
        overlong: new Uint8Array([0xc0, 0x80]),
        surrogate: new Uint8Array([0xed, 0xa0, 0x80]),
        aboveMax: new Uint8Array([0xf4, 0x90, 0x80, 0x80]),
        truncated: new Uint8Array([0x61, 0xe2, 0x82]),
        loneContinuation: new Uint8Array([0x80]),
        byteFF: new Uint8Array([0x61, 0xff]),
        longBad,
      };
      const out: Record<string, Record<string, boolean | number>> = {};
      for (const simd of [true, false]) {
        const core = await E.loadCore({ simd });
        const before = core.memoryBytes;
        const row: Record<string, boolean | number> = {};
        for (const [name, bytes] of Object.entries(cases)) row[name] = core.isValidUtf8(bytes);
        row.memoryGrew = core.memoryBytes - before;
        out[core.flavour] = row;
      }
      return out;
    });
    const expected = {
      empty: true, ascii: true, multibyte: true, maxCodePoint: true, long: true,
      overlong: false, surrogate: false, aboveMax: false, truncated: false, loneContinuation: false, byteFF: false, longBad: false,
      memoryGrew: 0,
    };
    expect(results).toEqual({ simd: expected, scalar: expected });
  });

  it("reports an invalid frame as a ProtocolError with its code and close code", async () => {
    const errors = await page().evaluate(async () => {
      const E = (window as unknown as { edgews: typeof Edgews }).edgews;
      const core = await E.loadCore();
      // Masked frames use the all-zero key, so the payload bytes are as written.
      const cases: Array<[string, number[], number?]> = [
        ["unmasked", [0x81, 0x02, 0x68, 0x69]],
        ["reservedOpcode", [0x83, 0x80, 0, 0, 0, 0]],
        ["invalidUtf8", [0x81, 0x82, 0, 0, 0, 0, 0xc0, 0x80]],
        ["tooBig", [0x82, 0x8b, 0, 0, 0, 0, ...new Array<number>(11).fill(1)], 10],
      ];
      const out: Record<string, unknown> = {};
      for (const [name, bytes, maxPayload] of cases) {
        const seen: unknown[] = [];
        const parser = new E.FrameParser(core, { role: "server", ...(maxPayload ? { maxPayload } : {}) }, {
          onMessage: () => seen.push("message"),
          onError: (e) =>
            seen.push({
              isProtocolError: e instanceof E.ProtocolError,
              isError: e instanceof Error,
              name: e.name,
              code: e.code,
              closeCode: e.closeCode,
              message: e.message,
            }),
        });
        // A valid frame after the bad one must be ignored.
        parser.push(new Uint8Array([...bytes, 0x81, 0x80, 0, 0, 0, 0]));
        parser.destroy();
        out[name] = seen;
      }
      return out;
    });
    const error = (code: string, closeCode: number) => [
      { isProtocolError: true, isError: true, name: "ProtocolError", code, closeCode, message: expect.stringMatching(/^Invalid WebSocket frame: /) },
    ];
    expect(errors).toEqual({
      unmasked: error("WS_ERR_EXPECTED_MASK", 1002),
      reservedOpcode: error("WS_ERR_INVALID_OPCODE", 1002),
      invalidUtf8: error("WS_ERR_INVALID_UTF8", 1007),
      tooBig: error("WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH", 1009),
    });
  });

  it("loads from a wasmDir the app chooses, and names the URL and HTTP status when the module is missing", async () => {
    const result = await browser!.page.evaluate(async () => {
      const E = (window as unknown as { edgews: typeof Edgews }).edgews;
      const found = await E.loadCore({ wasmDir: `${location.origin}/build/` });
      const missing = await E.loadCore({ wasmDir: `${location.origin}/nowhere/` }).then(
        () => "loaded",
        (e: Error) => `${e.name}: ${e.message}`,
      );
      return { flavour: found.flavour, missing };
    });
    expect(result.flavour).toBe("simd");
    expect(result.missing).toBe(`CoreError: could not fetch the edgews core from ${site!.origin}/nowhere/edgews-simd.wasm: HTTP 404`);
  });

  it("ran without page errors, and every request went to the test server and was answered", () => {
    // The 404 is the missing-module test's, asked for on purpose.
    expect(pageErrors.filter((e) => !e.includes("404"))).toEqual([]);
    expect(offSite).toEqual([]);
    expect(site!.requests.filter((r) => r.status !== 200 && !r.path.startsWith("/nowhere/"))).toEqual([]);
    expect(site!.requests.map((r) => r.path)).not.toContain("node:fs/promises");
  });
});
