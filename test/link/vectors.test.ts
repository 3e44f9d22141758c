// The shared test vectors (firmware-sim/vectors/) are the contract with the C device library:
// the implementation must reproduce them exactly, and each must stand on its own (decode back,
// replay with one end alone) as the C twin will use it.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { crc32c } from "../../src/link/crc32c.js";
import { FrameDecoder } from "../../src/link/framing.js";
import { decodePacket, type Packet } from "../../src/link/packet.js";
import { decodeCommand, decodeEvent, decodeHello, decodeLog, decodeResult, decodeTelemetry, telemetryRecord } from "../../src/link/messages.js";
import { LinkSession, type LinkOptions } from "../../src/link/session.js";
import { VECTORS_DIR, buildVectors, greenhouse, vectorText } from "./vectors.js";

const unhex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (b) => parseInt(b, 16));
const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const load = (name: string): any => JSON.parse(readFileSync(new URL(name, VECTORS_DIR), "utf8"));

describe("the committed vectors", () => {
  it.each(Object.entries(buildVectors()))("%s is what the implementation produces", (name, content) => {
    expect(readFileSync(new URL(name, VECTORS_DIR), "utf8")).toBe(vectorText(content));
  });
});

describe("each vector on its own", () => {
  it("crc32c.json: the CRC of each input", () => {
    for (const v of load("crc32c.json")) expect(crc32c(unhex(v.data)).toString(16).padStart(8, "0")).toBe(v.crc32c);
  });

  it("packets.json: the wire bytes decode to the packet", () => {
    for (const v of load("packets.json")) {
      const got: Uint8Array[] = [];
      new FrameDecoder(512, (p) => got.push(p.slice())).push(unhex(v.wire));
      expect(got.map(hex)).toEqual([v.bytes.slice(0, -8)]);
      const packet = decodePacket(got[0]) as Packet;
      expect(JSON.parse(JSON.stringify({ ...packet, body: hex(packet.body) }))).toEqual(JSON.parse(JSON.stringify(v.packet)));
    }
  });

  it("messages.json: each body decodes to its value", () => {
    const v = load("messages.json");
    expect(decodeHello(unhex(v.hello.body))).toEqual(greenhouse);
    const readings = decodeTelemetry(unhex(v.telemetry[0].body), greenhouse);
    expect(telemetryRecord(readings, greenhouse)).toEqual(v.telemetry[0].record);
    for (const e of v.events) {
      const event = decodeEvent(unhex(e.body));
      expect(event.value instanceof Uint8Array ? { ...event, value: { hex: hex(event.value) } } : event).toEqual(e.value);
    }
    for (const c of v.commands) expect(decodeCommand(unhex(c.body), greenhouse)).toEqual(c.value);
    for (const r of v.results) expect(decodeResult(unhex(r.body))).toEqual(r.value);
    for (const l of v.logs) expect(decodeLog(unhex(l.body))).toEqual(l.value);
  });

  it("sessions.json: either end, played alone against the other's recorded bytes, writes the recorded bytes", () => {
    for (const transcript of load("sessions.json")) {
      for (const me of ["a", "b"] as const) replay(transcript, me);
    }
  });
});

interface Step {
  t: number;
  action: Record<string, string | number | boolean>;
  writes: Record<string, string>;
  events: string[];
}

/** What the C twin does with a transcript: play `me`, feed it the other end's recorded writes, compare. */
function replay(transcript: { name: string; a: LinkOptions; b: LinkOptions; steps: Step[] }, me: "a" | "b"): void {
  const other = me === "a" ? "b" : "a";
  let time = 0;
  let written = "";
  const make = (options: LinkOptions) => new LinkSession({ ...options, now: () => time }, { write: (bytes) => (written += hex(bytes)), message: () => {} });
  let end = make(transcript[me]);
  const incoming: string[] = [];
  for (const [i, step] of transcript.steps.entries()) {
    time = step.t;
    written = "";
    const a = step.action;
    if (a.tick === me) end.tick();
    else if (a.send === me) a.reliable ? end.sendReliable(a.kind as number, unhex(a.body as string)) : end.sendBestEffort(a.kind as number, unhex(a.body as string));
    else if (a.deliver === other || a.lose === other) {
      const bytes = incoming.shift()!;
      if (a.deliver) end.receive(unhex(bytes));
    } else if (a.restart === me) end = make({ ...transcript[me], session: a.session as number });
    else if (a.close === me) end.close(a.reason as number);
    // One call into one end per step, and at most one write per call.
    if (step.writes[other]) incoming.push(step.writes[other]);
    expect(written, `${transcript.name}, step ${i}, playing ${me}`).toBe(step.writes[me] ?? "");
  }
}
