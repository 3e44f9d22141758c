// Layer 4: the six message kinds, byte for byte, and what the decoders refuse.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PayloadError } from "../../src/link/errors.js";
import {
  LogLevel, ResultStatus, decodeCommand, decodeEvent, decodeHello, decodeLog, decodeResult, decodeTelemetry, encodeCommand, encodeEvent,
  encodeHello, encodeLog, encodeResult, encodeTelemetry, telemetryRecord, type Hello,
} from "../../src/link/messages.js";
import { ValueType, type Value } from "../../src/link/values.js";

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
const bytes = (text: string) => Uint8Array.from(text.split(" ").map((b) => parseInt(b, 16)));

const greenhouse: Hello = {
  deviceId: "gh-7",
  firmware: "1.4.2",
  channels: [
    { name: "temperature", unit: "°C", type: ValueType.F32 },
    { name: "humidity", unit: "%", type: ValueType.U8 },
    { name: "door", unit: "", type: ValueType.Bool },
  ],
  commands: [
    { name: "reboot", argument: ValueType.None },
    { name: "fan", argument: ValueType.U8 },
  ],
};

function payloadError(run: () => unknown): PayloadError {
  try {
    run();
  } catch (error) {
    if (error instanceof PayloadError) return error;
    throw error;
  }
  throw new Error("no PayloadError");
}

describe("hello", () => {
  it("encodes id, firmware, channels (name, unit, type) and commands (name, argument type)", () => {
    const body = encodeHello(greenhouse);
    expect(hex(body)).toBe(
      "04 67 68 2d 37 05 31 2e 34 2e 32 03 " +
        "0b 74 65 6d 70 65 72 61 74 75 72 65 03 c2 b0 43 08 " +
        "08 68 75 6d 69 64 69 74 79 01 25 02 " +
        "04 64 6f 6f 72 00 01 " +
        "02 06 72 65 62 6f 6f 74 00 03 66 61 6e 02",
    );
    expect(decodeHello(body)).toEqual(greenhouse);
  });

  it("refuses names that can't be topic levels or JSON keys, and duplicates", () => {
    expect(() => encodeHello({ ...greenhouse, deviceId: "a/b" })).toThrow(/device id name "a\/b"/);
    expect(() => encodeHello({ ...greenhouse, channels: [greenhouse.channels[0], greenhouse.channels[0]] })).toThrow(/declared twice/);
    expect(() => encodeHello({ ...greenhouse, channels: [{ name: "x", unit: "", type: ValueType.None }] })).toThrow(/other than None/);
    const body = encodeHello(greenhouse);
    body[2] = 0x2b; // "g+-7"
    expect(payloadError(() => decodeHello(body)).message).toMatch(/must be non-empty, without/);
  });

  it("refuses a truncated body, an unknown type code and trailing bytes, saying where", () => {
    const body = encodeHello(greenhouse);
    expect(payloadError(() => decodeHello(body.subarray(0, 20))).message).toMatch(/at byte 13: the body ends before the name of channel 0 \(11 more bytes needed, 7 left\)/);
    const badType = body.slice();
    badType[28] = 0x0c;
    expect(payloadError(() => decodeHello(badType)).message).toMatch(/at byte 28: the type of channel 0 is 0x0c, not a value type/);
    expect(payloadError(() => decodeHello(Uint8Array.of(...body, 0))).message).toMatch(/bytes left after the last field/);
  });
});

describe("telemetry", () => {
  it("is (channel index, value in the channel's type) repeated", () => {
    const body = encodeTelemetry([{ channel: 0, value: 21.5 }, { channel: 1, value: 40 }, { channel: 2, value: true }], greenhouse);
    expect(hex(body)).toBe("00 00 00 ac 41 01 28 02 01");
    const readings = decodeTelemetry(body, greenhouse);
    expect(telemetryRecord(readings, greenhouse)).toEqual({ temperature: 21.5, humidity: 40, door: true });
  });

  it("refuses undeclared channels, a channel twice, and values out of their type", () => {
    expect(() => encodeTelemetry([{ channel: 3, value: 1 }], greenhouse)).toThrow(/no channel 3/);
    expect(() => encodeTelemetry([{ channel: 1, value: 300 }], greenhouse)).toThrow(/integer from 0 to 255/);
    expect(payloadError(() => decodeTelemetry(bytes("01 28 01 29"), greenhouse)).message).toMatch(/at byte 2: channel "humidity" appears twice/);
    expect(payloadError(() => decodeTelemetry(bytes("07 00"), greenhouse)).message).toMatch(/channel 7 is not declared/);
    expect(payloadError(() => decodeTelemetry(bytes("02 02"), greenhouse)).message).toMatch(/boolean but holds 2/);
    expect(payloadError(() => decodeTelemetry(bytes("00 00 00"), greenhouse)).message).toMatch(/ends before/);
  });
});

describe("event, command, result, log", () => {
  it("encode byte for byte and round-trip", () => {
    const event = { name: "door", type: ValueType.String, value: "open" };
    expect(hex(encodeEvent(event))).toBe("04 64 6f 6f 72 0a 04 6f 70 65 6e");
    expect(decodeEvent(encodeEvent(event))).toEqual(event);

    const command = { id: 0x1234, command: 1, argument: 3 };
    expect(hex(encodeCommand(command, greenhouse))).toBe("34 12 01 03");
    expect(decodeCommand(encodeCommand(command, greenhouse), greenhouse)).toEqual(command);
    expect(hex(encodeCommand({ id: 1, command: 0, argument: null }, greenhouse))).toBe("01 00 00");

    const result = { id: 0x1234, status: ResultStatus.Ok, type: ValueType.I16, value: -2 };
    expect(hex(encodeResult(result))).toBe("34 12 00 05 fe ff");
    expect(decodeResult(encodeResult(result))).toEqual(result);

    const log = { level: LogLevel.Warn, text: "battery 3.1 V" };
    expect(hex(encodeLog(log))).toBe("01 62 61 74 74 65 72 79 20 33 2e 31 20 56");
    expect(decodeLog(encodeLog(log))).toEqual(log);
  });

  it("refuses unknown commands, statuses and levels, and invalid UTF-8", () => {
    expect(payloadError(() => decodeCommand(bytes("01 00 05"), greenhouse)).message).toMatch(/command 5 is not declared/);
    expect(payloadError(() => decodeCommand(bytes("01 00 01"), greenhouse)).message).toMatch(/ends before the argument of command "fan"/);
    expect(payloadError(() => decodeResult(bytes("01 00 09 00"))).message).toMatch(/status 9 is not defined/);
    expect(payloadError(() => decodeLog(bytes("07 41"))).message).toMatch(/log level 7/);
    expect(payloadError(() => decodeLog(bytes("02 41 c3 28"))).message).toMatch(/at byte 1: the log text is not valid UTF-8/);
    expect(() => encodeCommand({ id: 70000, command: 0, argument: null }, greenhouse)).toThrow(/command id must be an integer from 0 to 65535/);
  });

  it("encoders refuse what the decoders refuse (the C twin does too)", () => {
    expect(payloadError(() => encodeResult({ id: 1, status: 9 as ResultStatus, type: ValueType.None, value: null })).message).toMatch(/status 9 is not defined/);
    expect(payloadError(() => encodeLog({ level: 7 as LogLevel, text: "x" })).message).toMatch(/log level 7 is not defined/);
    expect(payloadError(() => encodeTelemetry([{ channel: 1, value: 40 }, { channel: 1, value: 41 }], greenhouse)).message).toMatch(/"humidity" appears twice/);
    const badType = { ...greenhouse, channels: [{ name: "t", unit: "C", type: 0x20 as ValueType }] };
    expect(payloadError(() => encodeHello(badType)).message).toMatch(/channel "t" needs a value type/);
    const badArgument = { ...greenhouse, commands: [{ name: "go", argument: 0x20 as ValueType }] };
    expect(payloadError(() => encodeHello(badArgument)).message).toMatch(/command "go" has argument type 32/);
  });

  it("round-trips every value of every type through an event", () => {
    const typed: fc.Arbitrary<[ValueType, Value]> = fc.oneof(
      fc.constant<[ValueType, Value]>([ValueType.None, null]),
      fc.boolean().map((v): [ValueType, Value] => [ValueType.Bool, v]),
      fc.integer({ min: 0, max: 255 }).map((v): [ValueType, Value] => [ValueType.U8, v]),
      fc.integer({ min: -128, max: 127 }).map((v): [ValueType, Value] => [ValueType.I8, v]),
      fc.integer({ min: 0, max: 0xffff }).map((v): [ValueType, Value] => [ValueType.U16, v]),
      fc.integer({ min: -0x8000, max: 0x7fff }).map((v): [ValueType, Value] => [ValueType.I16, v]),
      fc.integer({ min: 0, max: 0xffffffff }).map((v): [ValueType, Value] => [ValueType.U32, v]),
      fc.integer({ min: -0x80000000, max: 0x7fffffff }).map((v): [ValueType, Value] => [ValueType.I32, v]),
      fc.float({ noNaN: true }).map((v): [ValueType, Value] => [ValueType.F32, v]),
      fc.double({ noNaN: true }).map((v): [ValueType, Value] => [ValueType.F64, v]),
      fc.string({ maxLength: 60 }).map((v): [ValueType, Value] => [ValueType.String, v]),
      fc.uint8Array({ maxLength: 255 }).map((v): [ValueType, Value] => [ValueType.Bytes, v]),
    );
    fc.assert(
      fc.property(typed, ([type, value]) => {
        const decoded = decodeEvent(encodeEvent({ name: "e", type, value }));
        // A float32 comes back as the shortest decimal of the same float32.
        if (type === ValueType.F32) expect(Object.is(Math.fround(decoded.value as number), value)).toBe(true);
        else expect(decoded).toEqual({ name: "e", type, value });
      }),
    );
  });

  it("a float32 reading decodes to the shortest decimal that is the same float32 (18.43, not 18.43000030517578)", () => {
    const hello: Hello = { deviceId: "t", firmware: "1", channels: [{ name: "celsius", unit: "°C", type: ValueType.F32 }], commands: [] };
    for (const reading of [18.43, 0.1, -273.15, 1e-7, 3.4e38, -0]) {
      const [decoded] = decodeTelemetry(encodeTelemetry([{ channel: 0, value: reading }], hello), hello);
      expect(Object.is(decoded!.value, reading)).toBe(true);
    }
  });
});
