// One test per RFC 6455 §5 validation rule, with the exact close code, fed whole and one byte
// at a time, on both core builds.
import { describe, expect, it } from "vitest";
import { loadCoreSync, type ParserOptions } from "../../src/core/node.js";
import { closePayload, frame } from "../support/frames.js";
import { binary, bytes, failure, ping, pong, record, text, type Delivered } from "../support/recorder.js";

const TEXT = 1, BINARY = 2, CONT = 0, CLOSE = 8, PING = 9, PONG = 10;

for (const simd of [true, false]) {
  describe(`validation rules (${simd ? "simd" : "scalar"} core)`, () => {
    const core = loadCoreSync({ simd, maxConnections: 64 });
    it("loaded the requested build", () => expect(core.flavour).toBe(simd ? "simd" : "scalar"));

    /** Parses `bytes` whole and again byte by byte; both must deliver `expected`. */
    function expectParse(bytes: Buffer, expected: Delivered[], options: Partial<ParserOptions> = {}): void {
      for (const split of ["whole", "bytewise"] as const) {
        const r = record(core, { role: "server", ...options });
        if (split === "whole") r.push(bytes);
        else for (let i = 0; i < bytes.length; i++) r.push(bytes.subarray(i, i + 1));
        r.parser.destroy();
        expect(r.events, split).toEqual(expected);
      }
    }
    const rejects = (bytes: Buffer, code: string, closeCode: number, options: Partial<ParserOptions> = {}, before: Delivered[] = []) =>
      expectParse(bytes, [...before, failure(code, closeCode)], options);

    describe("reserved bits (§5.2)", () => {
      it("RSV2 → 1002", () => rejects(frame({ opcode: TEXT, payload: "a", rsv2: true }), "WS_ERR_UNEXPECTED_RSV_2_3", 1002));
      it("RSV3 → 1002", () => rejects(frame({ opcode: TEXT, payload: "a", rsv3: true }), "WS_ERR_UNEXPECTED_RSV_2_3", 1002));
      it("RSV1 without permessage-deflate → 1002", () =>
        rejects(frame({ opcode: TEXT, payload: "a", rsv1: true }), "WS_ERR_UNEXPECTED_RSV_1", 1002));
      it("RSV1 with permessage-deflate marks the message compressed (not UTF-8 checked)", () =>
        expectParse(frame({ opcode: TEXT, payload: Buffer.from([0xff, 0x00]), rsv1: true }),
          [{ type: "message", data: bytes(Buffer.from([0xff, 0x00])), isBinary: false, compressed: true }], { perMessageDeflate: true }));
      it("RSV1 on a continuation frame → 1002 (RFC 7692 §6.1)", () =>
        rejects(Buffer.concat([frame({ opcode: TEXT, payload: "a", fin: false, rsv1: true }), frame({ opcode: CONT, payload: "b", rsv1: true })]),
          "WS_ERR_UNEXPECTED_RSV_1", 1002, { perMessageDeflate: true }));
      it("RSV1 on a control frame → 1002", () =>
        rejects(frame({ opcode: PING, rsv1: true }), "WS_ERR_UNEXPECTED_RSV_1", 1002, { perMessageDeflate: true }));
    });

    describe("opcodes (§5.2)", () => {
      for (const op of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
        it(`reserved opcode ${op} → 1002`, () => rejects(frame({ opcode: op, payload: "x" }), "WS_ERR_INVALID_OPCODE", 1002));
      }
      it("continuation without a message → 1002", () =>
        rejects(frame({ opcode: CONT, payload: "x" }), "WS_ERR_UNEXPECTED_CONTINUATION", 1002));
      it("a new data frame inside a fragmented message → 1002", () =>
        rejects(Buffer.concat([frame({ opcode: TEXT, payload: "a", fin: false }), frame({ opcode: BINARY, payload: "b" })]),
          "WS_ERR_EXPECTED_CONTINUATION", 1002));
      it("a continuation after a finished message → 1002", () =>
        rejects(Buffer.concat([frame({ opcode: TEXT, payload: "a" }), frame({ opcode: CONT, payload: "b" })]),
          "WS_ERR_UNEXPECTED_CONTINUATION", 1002, {}, [text("a")]));
    });

    describe("control frames (§5.5)", () => {
      it("payload of 126 bytes → 1002", () =>
        rejects(frame({ opcode: PING, payload: Buffer.alloc(126) }), "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH", 1002));
      it("payload of 125 bytes is fine", () =>
        expectParse(frame({ opcode: PING, payload: Buffer.alloc(125, 7) }), [ping(Buffer.alloc(125, 7))]));
      it("fragmented (FIN clear) → 1002", () => rejects(frame({ opcode: PING, fin: false }), "WS_ERR_EXPECTED_FIN", 1002));
      it("are delivered between the fragments of a message", () =>
        expectParse(Buffer.concat([
          frame({ opcode: TEXT, payload: "Hel", fin: false }),
          frame({ opcode: PING, payload: "p1" }),
          frame({ opcode: CONT, payload: "lo ", fin: false }),
          frame({ opcode: PONG, payload: "p2" }),
          frame({ opcode: CONT, payload: "wörld" }),
        ]), [ping("p1"), pong("p2"), text("Hello wörld")]));
      it("a control frame between fragments does not reset the message's UTF-8 state", () =>
        expectParse(Buffer.concat([
          frame({ opcode: TEXT, payload: Buffer.from([0xe2, 0x82]), fin: false }),
          frame({ opcode: PING, payload: Buffer.from([0xc3]) }),
          frame({ opcode: CONT, payload: Buffer.from([0xac]) }),
        ]), [ping(Buffer.from([0xc3])), text("€")]));
    });

    describe("close frames (§5.5.1, §7.4)", () => {
      it("empty close → code 1005", () => expectParse(frame({ opcode: CLOSE }), [{ type: "close", code: 1005, reason: "" }]));
      it("code and UTF-8 reason", () =>
        expectParse(frame({ opcode: CLOSE, payload: closePayload(1001, "gone ✓") }), [{ type: "close", code: 1001, reason: "gone ✓" }]));
      it("a 1-byte payload → 1002", () =>
        rejects(frame({ opcode: CLOSE, payload: Buffer.from([3]) }), "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH", 1002));
      for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535]) {
        it(`close code ${code} → 1002`, () =>
          rejects(frame({ opcode: CLOSE, payload: closePayload(code) }), "WS_ERR_INVALID_CLOSE_CODE", 1002));
      }
      for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4000, 4999]) {
        it(`close code ${code} is accepted`, () =>
          expectParse(frame({ opcode: CLOSE, payload: closePayload(code, "r") }), [{ type: "close", code, reason: "r" }]));
      }
      it("an invalid UTF-8 reason → 1007", () =>
        rejects(frame({ opcode: CLOSE, payload: closePayload(1000, Buffer.from([0xc0, 0xaf])) }), "WS_ERR_INVALID_UTF8", 1007));
      it("everything after a close frame is ignored", () =>
        expectParse(Buffer.concat([frame({ opcode: CLOSE, payload: closePayload(1000) }), frame({ opcode: TEXT, payload: "late" }), Buffer.from([0xff, 0xff])]),
          [{ type: "close", code: 1000, reason: "" }]));
    });

    describe("masking (§5.1)", () => {
      it("a server rejects an unmasked frame → 1002", () =>
        rejects(frame({ opcode: TEXT, payload: "a", mask: null }), "WS_ERR_EXPECTED_MASK", 1002));
      it("a client rejects a masked frame → 1002", () =>
        rejects(frame({ opcode: TEXT, payload: "a" }), "WS_ERR_UNEXPECTED_MASK", 1002, { role: "client" }));
      it("a client reads unmasked frames", () =>
        expectParse(frame({ opcode: TEXT, payload: "hi", mask: null }), [text("hi")], { role: "client" }));
      it("an all-zero key is a valid key", () =>
        expectParse(frame({ opcode: TEXT, payload: "zero", mask: new Uint8Array(4) }), [text("zero")]));
    });

    describe("payload lengths (§5.2)", () => {
      for (const n of [0, 1, 125, 126, 127, 65535, 65536, 65537, 200_000]) {
        it(`${n} bytes round-trip through the ${n > 65535 ? "64" : n > 125 ? "16" : "7"}-bit length`, () => {
          const payload = Buffer.alloc(n, n & 0xff);
          expectParse(frame({ opcode: BINARY, payload }), [binary(payload)]);
        });
      }
      it("non-minimal length encodings are accepted, like ws and browsers", () =>
        expectParse(Buffer.concat([frame({ opcode: TEXT, payload: "a", len7: 126 }), frame({ opcode: TEXT, payload: "b", len7: 127 })]),
          [text("a"), text("b")]));
      it("a 64-bit length with the most significant bit set → 1002", () =>
        rejects(frame({ opcode: BINARY, declaredLength: 1n << 63n }), "WS_ERR_INVALID_PAYLOAD_LENGTH", 1002));
    });

    describe("limits (1009, decided from the header alone)", () => {
      it("a frame over maxPayload is refused before its payload arrives", () => {
        const r = record(core, { role: "server", maxPayload: 1000 });
        r.push(frame({ opcode: BINARY, declaredLength: 1001n }).subarray(0, 14));
        r.parser.destroy();
        expect(r.events).toEqual([failure("WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH", 1009)]);
      });
      it("a 2^62-byte frame is refused by the default limit", () =>
        rejects(frame({ opcode: BINARY, declaredLength: 1n << 62n }), "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH", 1009));
      it("a message over maxMessage across fragments", () =>
        rejects(Buffer.concat([frame({ opcode: BINARY, payload: Buffer.alloc(600), fin: false }), frame({ opcode: CONT, payload: Buffer.alloc(600) })]),
          "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH", 1009, { maxMessage: 1000 }));
      it("exactly maxMessage is fine", () => {
        const a = Buffer.alloc(500, 1);
        expectParse(Buffer.concat([frame({ opcode: BINARY, payload: a, fin: false }), frame({ opcode: CONT, payload: a })]),
          [binary(Buffer.concat([a, a]))], { maxMessage: 1000 });
      });
      it("more fragments than maxFragments", () => {
        const parts = [frame({ opcode: TEXT, payload: "a", fin: false }), ...Array.from({ length: 4 }, () => frame({ opcode: CONT, payload: "a", fin: false }))];
        rejects(Buffer.concat(parts), "WS_ERR_TOO_MANY_FRAGMENTS", 1009, { maxFragments: 4 });
      });
      it("limits of 0 mean no limit", () => {
        const payload = Buffer.alloc(70_000, 9);
        expectParse(frame({ opcode: BINARY, payload }), [binary(payload)], { maxPayload: 0, maxMessage: 0, maxFragments: 0 });
      });
      it("maxFragments, when set, refuses a flood of empty fragments, and a 4 MiB message in 65,536 fragments of 64 bytes fits it", () => {
        const flood = [frame({ opcode: BINARY, fin: false }), ...Array.from({ length: 100 }, () => frame({ opcode: CONT, fin: false }))];
        rejects(Buffer.concat(flood), "WS_ERR_TOO_MANY_FRAGMENTS", 1009, { maxFragments: 100 });
        const big = Buffer.alloc(4 << 20);
        for (let i = 0; i < big.length; i++) big[i] = i * 31;
        const frags: Buffer[] = [];
        for (let off = 0; off < big.length; off += 64) {
          frags.push(frame({ opcode: off === 0 ? BINARY : CONT, payload: big.subarray(off, off + 64), fin: off + 64 >= big.length }));
        }
        const r = record(core, { role: "server", maxMessage: 4 << 20, maxFragments: 65536 });
        r.push(Buffer.concat(frags));
        r.parser.destroy();
        expect(r.events).toEqual([binary(big)]);
      });
    });

    describe("UTF-8 in text messages (§8.1)", () => {
      const bad: Record<string, number[]> = {
        "an overlong 2-byte NUL": [0xc0, 0x80],
        "an overlong 3-byte slash": [0xe0, 0x80, 0xaf],
        "a surrogate (U+D800)": [0xed, 0xa0, 0x80],
        "above U+10FFFF": [0xf4, 0x90, 0x80, 0x80],
        "a lone continuation byte": [0x80],
        "0xFF": [0xff],
      };
      for (const [name, bytes] of Object.entries(bad)) {
        it(`${name} → 1007`, () => rejects(frame({ opcode: TEXT, payload: Buffer.from([0x61, ...bytes, 0x62]) }), "WS_ERR_INVALID_UTF8", 1007));
      }
      it("a character cut at the end of the message → 1007", () =>
        rejects(frame({ opcode: TEXT, payload: Buffer.from([0x61, 0xe2, 0x82]) }), "WS_ERR_INVALID_UTF8", 1007));
      it("a character split across fragments is fine", () =>
        expectParse(Buffer.concat([frame({ opcode: TEXT, payload: Buffer.from([0xf0, 0x9f]), fin: false }), frame({ opcode: CONT, payload: Buffer.from([0x98, 0x80]) })]),
          [text("😀")]));
      it("fails on the first invalid byte, before the message is complete", () => {
        const r = record(core, { role: "server" });
        const f = frame({ opcode: TEXT, payload: Buffer.concat([Buffer.from("ok "), Buffer.from([0xed, 0xa0, 0x80]), Buffer.alloc(100_000, 0x61)]) });
        r.push(f.subarray(0, 20));
        r.parser.destroy();
        expect(r.events).toEqual([failure("WS_ERR_INVALID_UTF8", 1007)]);
      });
      it("binary messages are not checked", () =>
        expectParse(frame({ opcode: BINARY, payload: Buffer.from([0xff, 0xc0]) }), [binary(Buffer.from([0xff, 0xc0]))]));
    });

    it("nothing is delivered after an error", () =>
      rejects(Buffer.concat([frame({ opcode: TEXT, payload: "a" }), frame({ opcode: 3 }), frame({ opcode: TEXT, payload: "b" })]),
        "WS_ERR_INVALID_OPCODE", 1002, {}, [text("a")]));
  });
}
