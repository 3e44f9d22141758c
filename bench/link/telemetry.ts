// The telemetry every link bench sends: one message of exactly 64 bytes, encoded by src/link as
// a device encodes it, that carries its own sequence number so that the receiving end (a link
// session, or a subscriber behind the bridge and the broker) can tell which one arrived, and
// whether it arrived intact: every other byte of the body follows from that number.
import { ValueType, decodeTelemetry, encodeTelemetry, type Hello, type Reading } from "../../src/link/index.js";

/** The size the targets name (efficiency ≥ 85 % for 64-byte telemetry). */
export const TELEMETRY_BYTES = 64;

const MEASUREMENTS = 10;

/**
 * A device's hello: a sequence number (U32), ten F32 measurements and an energy counter (F64):
 * 5 + 10 × 5 + 9 = 64 bytes of telemetry body.
 */
export function benchHello(deviceId: string): Hello {
  return {
    deviceId,
    firmware: "edgews-bench 1",
    channels: [
      { name: "seq", unit: "", type: ValueType.U32 },
      ...Array.from({ length: MEASUREMENTS }, (_, i) => ({ name: `m${i + 1}`, unit: "", type: ValueType.F32 })),
      { name: "energy", unit: "kWh", type: ValueType.F64 },
    ],
    commands: [],
  };
}

/** Telemetry message `seq` of the device `hello` describes. */
export function telemetryBody(hello: Hello, seq: number): Uint8Array {
  const readings: Reading[] = [{ channel: 0, value: seq >>> 0 }];
  // Values a sensor could read, different in every message (so no two bodies are alike).
  for (let i = 1; i <= MEASUREMENTS; i++) readings.push({ channel: i, value: Math.fround(20 + i + (seq % 1000) / 1000) });
  readings.push({ channel: MEASUREMENTS + 1, value: seq / 1000 });
  const body = encodeTelemetry(readings, hello);
  if (body.length !== TELEMETRY_BYTES) throw new Error(`the bench's telemetry is ${body.length} bytes, not ${TELEMETRY_BYTES}: benchHello and telemetryBody disagree`);
  return body;
}

/** The sequence number of a body `telemetryBody` made, or undefined if the body is not one of them, byte for byte. */
export function sequenceOf(hello: Hello, body: Uint8Array): number | undefined {
  let readings: Reading[];
  try {
    readings = decodeTelemetry(body, hello);
  } catch {
    return undefined;
  }
  const seq = readings[0]?.channel === 0 ? readings[0].value : undefined;
  if (typeof seq !== "number") return undefined;
  const expected = telemetryBody(hello, seq);
  return expected.length === body.length && expected.every((byte, i) => byte === body[i]) ? seq : undefined;
}
