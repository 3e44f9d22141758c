// The fuzzers judge the peers by a reference receiver (test/support/fuzz/frame-model.ts) written
// from RFC 6455 alone, and mutated upgrade requests by an oracle (request-gen.ts). Here both are
// checked on hand-built inputs, and the receiver against the core's FrameParser on generated
// streams, byte for byte and in any chunking: where they disagree, one of them is wrong, and the
// fuzzers' verdicts could not be trusted.
import fc from "fast-check";
import { constants, deflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { loadCoreSync } from "../../src/core/node.js";
import { closePayload, frame, type RawFrame } from "../support/frames.js";
import { cut, frameStreamArb, streamBytes } from "../support/fuzz/frame-gen.js";
import { judgeStream, type Delivery, type Ending, type ModelConfig } from "../support/fuzz/frame-model.js";
import { ALLOWED_ORIGIN, FUZZ_LIMITS, FUZZ_PATH } from "../support/fuzz/limits.js";
import { mustRefuse } from "../support/fuzz/request-gen.js";
import { seededBytes } from "../support/seeded.js";

const { maxPayload, maxMessage, maxFragments } = FUZZ_LIMITS;
const SERVER: ModelConfig = { role: "server", deflate: false, maxPayload, maxMessage, maxFragments, maxControlFrames: 3 };
const KEY = Buffer.from([1, 2, 3, 4]);
const masked = (f: RawFrame) => frame({ mask: KEY, ...f });
const judge = (frames: RawFrame[], config: Partial<ModelConfig> = {}) => judgeStream(Buffer.concat(frames.map(masked)), { ...SERVER, ...config });
const deflated = (text: string) => deflateRawSync(Buffer.from(text), { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4);

describe("the reference receiver", () => {
  it("delivers messages and pings in order, and answers a close frame", () => {
    const v = judge([{ opcode: 1, fin: false, payload: "he" }, { opcode: 9, payload: "p" }, { opcode: 0, payload: "llo" }, { opcode: 8, payload: closePayload(3000, "bye") }, { opcode: 3 }]);
    expect(v.deliveries).toEqual([{ kind: "ping", data: Buffer.from("p") }, { kind: "message", binary: false, data: Buffer.from("hello") }]);
    expect(v.ending).toEqual({ kind: "close", code: 3000 });
    expect(v.required).toBe(2);
  });

  it.each<[string, RawFrame[], number[]]>([
    ["RSV2", [{ opcode: 2, rsv2: true }], [1002]],
    ["RSV1 without permessage-deflate", [{ opcode: 2, rsv1: true }], [1002]],
    ["a reserved opcode", [{ opcode: 11 }], [1002]],
    ["a fragmented ping", [{ opcode: 9, fin: false }], [1002]],
    ["a continuation with no message", [{ opcode: 0 }], [1002]],
    ["a new message inside a fragmented one", [{ opcode: 1, fin: false }, { opcode: 2 }], [1002]],
    ["a ping over 125 bytes", [{ opcode: 9, payload: Buffer.alloc(126) }], [1002]],
    ["a 64-bit length with its top bit set", [{ opcode: 2, len7: 127, declaredLength: 2n ** 63n }], [1002]],
    ["a frame over maxPayload", [{ opcode: 2, payload: Buffer.alloc(maxPayload + 1) }], [1009]],
    ["more fragments than maxFragments", Array.from({ length: maxFragments + 1 }, (_, i) => ({ opcode: i === 0 ? 2 : 0, fin: false })), [1009]],
    ["a close body of 1 byte", [{ opcode: 8, payload: Buffer.alloc(1) }], [1002]],
    ["close code 1005", [{ opcode: 8, payload: closePayload(1005) }], [1002]],
    ["a close reason that is not UTF-8", [{ opcode: 8, payload: closePayload(1000, Buffer.from([0xff])) }], [1007]],
    ["text that is not UTF-8", [{ opcode: 1, payload: Buffer.from([0x61, 0xc0, 0xaf]) }], [1007]],
    ["text ending inside a character", [{ opcode: 1, payload: Buffer.from([0xce]) }], [1007]],
    ["a ping flood", Array.from({ length: 4 }, () => ({ opcode: 9 })), [1008]],
  ])("fails %s with the RFC's code", (_name, frames, codes) => {
    expect(judge(frames).ending).toEqual({ kind: "fail", codes });
  });

  it("fails an unmasked frame to a server and a masked one to a client", () => {
    const text = { opcode: 1, payload: "x" };
    expect(judgeStream(frame({ ...text, mask: null }), SERVER).ending).toEqual({ kind: "fail", codes: [1002] });
    expect(judgeStream(frame({ ...text, mask: KEY }), { ...SERVER, role: "client" }).ending).toEqual({ kind: "fail", codes: [1002] });
  });

  it("fails bad UTF-8 at the first byte that shows it, even inside an unfinished frame", () => {
    const partial = masked({ opcode: 1, payload: Buffer.from([0x61, 0xff]), declaredLength: 100n });
    expect(judgeStream(partial, SERVER).ending).toEqual({ kind: "fail", codes: [1007] });
    const stillValid = masked({ opcode: 1, payload: Buffer.from([0x61, 0xe2, 0x82]), declaredLength: 100n });
    expect(judgeStream(stillValid, SERVER).ending).toEqual({ kind: "open", atFrameBoundary: false, mayFail: [] });
  });

  it("inflates compressed messages: valid, with a final block, garbage, a bomb past maxMessage", () => {
    const deflate = { deflate: true };
    expect(judge([{ opcode: 1, rsv1: true, payload: deflated("hi") }], deflate).deliveries).toEqual([{ kind: "message", binary: false, data: Buffer.from("hi") }]);
    expect(judge([{ opcode: 2, rsv1: true, payload: deflateRawSync(Buffer.from("end")) }], deflate).deliveries).toEqual([{ kind: "message", binary: true, data: Buffer.from("end") }]);
    expect(judge([{ opcode: 2, rsv1: true, payload: Buffer.from([0xff, 0xff]) }], deflate).ending).toEqual({ kind: "fail", codes: [1007] });
    const bomb = deflateRawSync(Buffer.alloc(maxMessage + 1), { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4);
    expect(judge([{ opcode: 2, rsv1: true, payload: bomb }], deflate).ending).toEqual({ kind: "fail", codes: [1009] });
  });

  it("holds uncompressed messages to the limits on a compressed connection, and lets compressed frames carry zlib's worst case", () => {
    const incompressible = seededBytes(maxPayload, 1);
    const compressed = deflateRawSync(incompressible, { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4);
    expect(compressed.length).toBeGreaterThan(maxPayload);
    expect(judge([{ opcode: 2, rsv1: true, payload: compressed }], { deflate: true }).ending.kind).toBe("open");
    expect(judge([{ opcode: 2, payload: Buffer.alloc(maxPayload + 1) }], { deflate: true }).ending).toEqual({ kind: "fail", codes: [1009] });
  });
});

describe("the reference receiver and the core's FrameParser", () => {
  const core = loadCoreSync({ maxConnections: 4 });

  /** What the parser makes of `bytes` pushed in `pieces`: deliveries, and how it ended. */
  function parse(pieces: Uint8Array[], role: "server" | "client"): { deliveries: Delivery[]; ending: Ending } {
    const deliveries: Delivery[] = [];
    let ending: Ending = { kind: "open", atFrameBoundary: true, mayFail: [] };
    const parser = core.createParser({ role, maxPayload, maxMessage, maxFragments }, {
      onMessage: (data, binary) => deliveries.push({ kind: "message", binary, data: Buffer.from(data) }),
      onPing: (data) => deliveries.push({ kind: "ping", data: Buffer.from(data) }),
      onClose: (code) => (ending = { kind: "close", code }),
      onError: (error) => (ending = { kind: "fail", codes: [error.closeCode] }),
    });
    try {
      for (const piece of pieces) parser.push(piece);
    } finally {
      parser.destroy();
    }
    return { deliveries, ending };
  }

  for (const role of ["server", "client"] as const) {
    it(`agree on generated streams to a ${role}, in any chunking`, () => {
      // Without permessage-deflate (the parser leaves inflation to the connection) and rate limits (the connection's too).
      const streams = frameStreamArb(role === "server" ? "client" : "server", { deflate: false });
      fc.assert(
        fc.property(streams, (stream) => {
          const bytes = streamBytes(stream);
          const verdict = judgeStream(bytes, { ...SERVER, role, maxControlFrames: Infinity });
          const parsed = parse(cut(bytes, stream.chunking), role);
          expect(parsed.deliveries).toEqual(verdict.deliveries);
          const e = verdict.ending;
          if (e.kind === "open") expect([undefined, ...e.mayFail]).toContain(parsed.ending.kind === "fail" ? parsed.ending.codes[0] : undefined);
          else if (e.kind === "fail") expect(parsed.ending.kind === "fail" && e.codes.includes(parsed.ending.codes[0]!)).toBe(true);
          else expect(parsed.ending).toEqual(e);
        }),
        { seed: 0x5eed_0013, numRuns: 1500 },
      );
    }, 60_000);
  }
});

describe("the upgrade oracle", () => {
  const fields = ["Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"];
  const request = (line: string, lines: string[], eol = "\r\n") => Buffer.from(`${line}${eol}${lines.join(eol)}${eol}${eol}`, "latin1");
  const valid = `GET ${FUZZ_PATH} HTTP/1.1`;

  it("lets through what a server may accept: any case, extra spaces, bare LF, lists, HTTP/1.1 and later", () => {
    expect(mustRefuse(request(valid, fields))).toBe(false);
    expect(mustRefuse(request(valid, fields, "\n"))).toBe(false);
    expect(mustRefuse(request(valid, fields.map((f) => f.replace(": 13", ": 8"))))).toBe(false);
    expect(mustRefuse(request(`GET  ${FUZZ_PATH}?q  HTTP/2.0`, ["upgrade:   WebSocket  ", "connection: keep-alive, upgrade", ...fields.slice(0, 1), ...fields.slice(3), `Origin: ${ALLOWED_ORIGIN}`]))).toBe(false);
  });

  it.each<[string, string, string[]]>([
    ["a POST", `POST ${FUZZ_PATH} HTTP/1.1`, fields],
    ["HTTP/1.0", `GET ${FUZZ_PATH} HTTP/1.0`, fields],
    ["another path", "GET /other HTTP/1.1", fields],
    ["two Host fields", valid, [...fields, "Host: other.example"]],
    ["no Upgrade token", valid, fields.map((f) => f.replace("websocket", "h2c"))],
    ["a key of 15 bytes", valid, fields.map((f) => f.replace("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ"))],
    ["version 12", valid, fields.map((f) => f.replace(": 13", ": 12"))],
    ["a foreign Origin", valid, [...fields, "Origin: https://evil.example"]],
    ["a line that is no field", valid, [...fields, "no colon here"]],
    ["too many fields", valid, [...fields, ...Array.from({ length: FUZZ_LIMITS.maxHeaderCount }, (_, i) => `X-${i}: x`)]],
  ])("refuses %s", (_name, line, lines) => {
    expect(mustRefuse(request(line, lines))).toBe(true);
  });
});
