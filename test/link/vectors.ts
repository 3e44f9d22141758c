// Builds the link's test vectors (firmware-sim/vectors/*.json) from the implementation: the
// byte sequences the C device library must reproduce and accept. vectors.test.ts checks that
// the committed files still match; after a deliberate protocol change, rewrite them with
//   npx tsx test/link/vectors.ts
// and say why in the commit (the C twin must change with them).
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { crc32c } from "../../src/link/crc32c.js";
import { FrameDecoder, frameAll, cobsMaxSize, sealPacket, writeFrame } from "../../src/link/framing.js";
import { CloseReason, PacketError, PacketType, decodePacket, encodePacket, encodeSync, type Packet } from "../../src/link/packet.js";
import {
  LogLevel, MessageKind, ResultStatus, encodeCommand, encodeEvent, encodeHello, encodeLog, encodeResult, encodeTelemetry, type Hello,
} from "../../src/link/messages.js";
import { ValueType, type Value } from "../../src/link/values.js";
import { LinkSession, type LinkOptions } from "../../src/link/session.js";

export const VECTORS_DIR = new URL("../../firmware-sim/vectors/", import.meta.url);

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const ascii = (text: string) => new TextEncoder().encode(text);
const run = (from: number, to: number) => Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);
const cat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

function crcVectors() {
  const inputs: Array<[string, Uint8Array]> = [
    ["empty", new Uint8Array(0)],
    ["the check string 123456789", ascii("123456789")],
    ["32 zeros (RFC 3720 B.4)", new Uint8Array(32)],
    ["32 x 0xff (RFC 3720 B.4)", new Uint8Array(32).fill(0xff)],
    ["00..1f (RFC 3720 B.4)", run(0, 31)],
    ["a SYNC packet's bytes", encodePacket({ type: PacketType.Sync, body: encodeSync(syncExample) }).subarray(0, -4)],
  ];
  return inputs.map(([name, data]) => ({ name, data: hex(data), crc32c: crc32c(data).toString(16).padStart(8, "0") }));
}

function cobsVectors() {
  const inputs: Array<[string, Uint8Array]> = [
    ["empty", new Uint8Array(0)],
    ["one zero", Uint8Array.of(0)],
    ["two zeros", Uint8Array.of(0, 0)],
    ["zero, byte, zero", Uint8Array.of(0, 0x11, 0)],
    ["zero inside", Uint8Array.of(0x11, 0x22, 0, 0x33)],
    ["no zero", Uint8Array.of(0x11, 0x22, 0x33, 0x44)],
    ["trailing zeros", Uint8Array.of(0x11, 0, 0, 0)],
    ["254 nonzero bytes: one full block, no empty block after it", run(1, 254)],
    ["a zero then 254 nonzero bytes", cat(Uint8Array.of(0), run(1, 254))],
    ["255 nonzero bytes", run(1, 255)],
    ["254 nonzero bytes then a zero", cat(run(2, 255), Uint8Array.of(0))],
    ["253 nonzero bytes, a zero, one byte", cat(run(3, 255), Uint8Array.of(0, 1))],
  ];
  return inputs.map(([name, data]) => {
    const out = new Uint8Array(cobsMaxSize(data.length) + 1);
    return { name, data: hex(data), encoded: hex(out.subarray(0, writeFrame(data, out, 0))) };
  });
}

const syncExample = { session: 0xa1b2c3d4, peerSession: 0x01020304, maxPacket: 128, maxMessage: 1024, resumeSeq: 5, expectedSeq: 9, established: true };

function packetVectors() {
  const packets: Array<[string, Packet]> = [
    ["SYNC", { type: PacketType.Sync, body: encodeSync(syncExample) }],
    ["SYNC from a fresh start (no peer yet)", { type: PacketType.Sync, body: encodeSync({ ...syncExample, peerSession: 0, resumeSeq: 0, expectedSeq: 0, established: false }) }],
    ["ACK", { type: PacketType.Ack, ack: 0x2a, body: new Uint8Array(0) }],
    ["PING", { type: PacketType.Ping, body: new Uint8Array(0) }],
    ["PING with a body and an ack", { type: PacketType.Ping, ack: 3, body: Uint8Array.of(1, 2, 3, 4) }],
    ["PONG", { type: PacketType.Pong, body: Uint8Array.of(1, 2, 3, 4) }],
    ["CLOSE going away", { type: PacketType.Close, body: Uint8Array.of(CloseReason.GoingAway) }],
    ["best-effort telemetry", { type: MessageKind.Telemetry, body: Uint8Array.of(0, 0, 0, 0xac, 0x41, 1, 0x28) }],
    ["reliable event", { type: MessageKind.Event, seq: 0, body: encodeEvent({ name: "door", type: ValueType.String, value: "open" }) }],
    ["reliable event with an ack", { type: MessageKind.Event, seq: 255, ack: 17, body: encodeEvent({ name: "door", type: ValueType.Bool, value: true }) }],
    ["first fragment of a log line", { type: MessageKind.Log, seq: 7, fragment: { index: 0, last: false }, body: ascii("\x02boot: ") }],
    ["last fragment of a log line", { type: MessageKind.Log, seq: 8, fragment: { index: 1, last: true }, body: ascii("ok") }],
    ["a packet with zeros in it", { type: MessageKind.Command, seq: 0, ack: 0, body: new Uint8Array(6) }],
  ];
  return packets.map(([name, packet]) => {
    const bytes = encodePacket(packet);
    return { name, packet: packetJson(packet), bytes: hex(bytes), wire: hex(frameAll([bytes])) };
  });
}

function packetJson(packet: Packet) {
  return { type: packet.type, seq: packet.seq, ack: packet.ack, fragment: packet.fragment, body: hex(packet.body) };
}

/** What a receiver must make of these streams (maxPacket 64): the packets it keeps, its counters, and each packet's verdict. */
function receiveVectors() {
  const good = encodePacket({ type: MessageKind.Telemetry, body: Uint8Array.of(1, 2, 3) });
  const corrupt = (bytes: Uint8Array, at: number, xor: number) => {
    const copy = bytes.slice();
    copy[at] ^= xor;
    return copy;
  };
  const streams: Array<[string, Uint8Array]> = [
    ["one packet", frameAll([good])],
    ["two packets back to back", frameAll([good, good])],
    ["garbage before a packet", cat(Uint8Array.of(0x13, 0x37, 0xff, 0x01), frameAll([good]))],
    ["a flipped bit: CRC error", corrupt(frameAll([good]), 4, 0x08)],
    ["a frame that ends inside a COBS block", cat(Uint8Array.of(0, 9, 1, 2, 3, 0), frameAll([good]))],
    ["a frame shorter than header and CRC", frameAll([sealPacket(Uint8Array.of(0x40, 0x11, 0, 0, 0))])],
    ["a frame longer than maxPacket (64)", frameAll([sealPacket(new Uint8Array(65).fill(0x40))])],
    ["delimiters only", new Uint8Array(5)],
    ["another version", frameAll([sealPacket(Uint8Array.of(0x80, 0x11, 1, 0, 0, 0, 0))])],
    ["reserved bits set", frameAll([sealPacket(Uint8Array.of(0x44, 0x11, 1, 0, 0, 0, 0))])],
    ["a fragment without a sequence number", frameAll([sealPacket(Uint8Array.of(0x48, 0x11, 0x80, 1, 0, 0, 0, 0))])],
    ["an unknown link packet type", frameAll([sealPacket(Uint8Array.of(0x40, 0x0f, 0, 0, 0, 0))])],
  ];
  return streams.map(([name, wire]) => {
    const packets: Array<{ bytes: string; verdict: string }> = [];
    const decoder = new FrameDecoder(64, (p) => {
      const packet = decodePacket(p);
      const verdict = packet === PacketError.BadVersion ? "bad-version" : packet === PacketError.BadHeader ? "bad-header" : "ok";
      packets.push({ bytes: hex(p), verdict });
    });
    decoder.push(wire);
    return { name, maxPacket: 64, wire: hex(wire), packets, counters: { ...decoder.counters } };
  });
}

export const greenhouse: Hello = {
  deviceId: "gh-7",
  firmware: "1.4.2",
  channels: [
    { name: "temperature", unit: "°C", type: ValueType.F32 },
    { name: "humidity", unit: "%", type: ValueType.U8 },
    { name: "door", unit: "", type: ValueType.Bool },
    { name: "pressure", unit: "hPa", type: ValueType.U16 },
  ],
  commands: [
    { name: "reboot", argument: ValueType.None },
    { name: "fan", argument: ValueType.U8 },
    { name: "label", argument: ValueType.String },
  ],
};

const valueJson = (value: Value) => (value instanceof Uint8Array ? { hex: hex(value) } : value);

function messageVectors() {
  const typed = (type: ValueType, value: Value) => ({ type, value });
  const events = [
    typed(ValueType.None, null), typed(ValueType.Bool, false), typed(ValueType.U8, 200), typed(ValueType.I8, -5), typed(ValueType.U16, 65535),
    typed(ValueType.I16, -300), typed(ValueType.U32, 4000000000), typed(ValueType.I32, -70000), typed(ValueType.F32, -0.25), typed(ValueType.F64, 1e-9),
    typed(ValueType.String, "héllo"), typed(ValueType.Bytes, Uint8Array.of(0, 1, 0xff)),
  ];
  const readings = [{ channel: 0, value: 21.5 }, { channel: 1, value: 40 }, { channel: 2, value: true }, { channel: 3, value: 1013 }];
  return {
    hello: { value: greenhouse, body: hex(encodeHello(greenhouse)) },
    telemetry: [
      { readings, body: hex(encodeTelemetry(readings, greenhouse)), record: { temperature: 21.5, humidity: 40, door: true, pressure: 1013 } },
      { readings: [], body: "" },
    ],
    events: events.map((e, i) => {
      const event = { name: `e${i}`, type: e.type, value: e.value };
      return { value: { ...event, value: valueJson(event.value) }, body: hex(encodeEvent(event)) };
    }),
    commands: [
      { id: 1, command: 0, argument: null },
      { id: 0x1234, command: 1, argument: 3 },
      { id: 65535, command: 2, argument: "bench 4" },
    ].map((command) => ({ value: command, body: hex(encodeCommand(command, greenhouse)) })),
    results: [
      { id: 0x1234, status: ResultStatus.Ok, type: ValueType.None, value: null },
      { id: 2, status: ResultStatus.BadArgument, type: ValueType.String, value: "fan speed 0..3" },
      { id: 3, status: ResultStatus.Ok, type: ValueType.F32, value: 3.5 },
    ].map((result) => ({ value: result, body: hex(encodeResult(result)) })),
    logs: [
      { level: LogLevel.Info, text: "boot ok" },
      { level: LogLevel.Error, text: "" },
    ].map((line) => ({ value: line, body: hex(encodeLog(line)) })),
  };
}

interface Step {
  t: number;
  action: Record<string, unknown>;
  /** Bytes each end wrote during the step. */
  writes: Record<string, string>;
  /** Events each end reported during the step. */
  events: string[];
}

/**
 * Scripted exchanges between two ends with fixed sessions: each step is an action (a tick at
 * time t, a call, or the delivery of one end's oldest unread write to the other) and the bytes
 * and events it produced. An implementation playing one end, fed the other end's writes at
 * the same times, must write the same bytes.
 */
class Transcript {
  readonly steps: Step[] = [];
  readonly ends: Record<"a" | "b", LinkSession>;
  readonly #queues: Record<"a" | "b", Uint8Array[]> = { a: [], b: [] };
  #time = 0;
  #writes: Record<string, string> = {};
  #events: string[] = [];

  constructor(readonly options: Record<"a" | "b", LinkOptions>) {
    this.ends = { a: this.#make("a", options.a), b: this.#make("b", options.b) };
  }

  #make(name: "a" | "b", options: LinkOptions): LinkSession {
    return new LinkSession({ ...options, now: () => this.#time }, {
      write: (bytes) => {
        this.#queues[name].push(bytes);
        this.#writes[name] = (this.#writes[name] ?? "") + hex(bytes);
      },
      message: (kind, body, reliable) => this.#events.push(`${name} message ${kind} ${reliable ? "reliable" : "best-effort"} ${hex(body)}`),
      up: () => this.#events.push(`${name} up`),
      down: (reason) => this.#events.push(`${name} down ${reason}`),
      delivered: (id) => this.#events.push(`${name} delivered ${id}`),
      closed: (reason, byPeer) => this.#events.push(`${name} closed ${reason} ${byPeer ? "by peer" : "by us"}`),
      error: (error) => this.#events.push(`${name} error ${error.code}`),
    });
  }

  /** The end restarts with a new session and no state (what it wrote before stays on the line). */
  restart(t: number, end: "a" | "b", session: number): void {
    this.step(t, { restart: end, session }, () => (this.ends[end] = this.#make(end, { ...this.options[end], session })));
  }

  step(t: number, action: Record<string, unknown>, work: () => void): void {
    this.#time = t;
    this.#writes = {};
    this.#events = [];
    work();
    this.steps.push({ t, action, writes: this.#writes, events: this.#events });
  }

  tick(t: number, end: "a" | "b"): void {
    this.step(t, { tick: end }, () => this.ends[end].tick());
  }

  /** Delivers the oldest unread write of `from` to the other end. */
  deliver(t: number, from: "a" | "b"): void {
    const bytes = this.#queues[from].shift();
    if (!bytes) throw new Error(`nothing written by ${from} to deliver`);
    this.step(t, { deliver: from }, () => this.ends[from === "a" ? "b" : "a"].receive(bytes));
  }

  /** Delivers writes both ways until none is left. */
  settle(t: number): void {
    while (this.#queues.a.length + this.#queues.b.length > 0) {
      if (this.#queues.a.length) this.deliver(t, "a");
      if (this.#queues.b.length) this.deliver(t, "b");
    }
  }

  send(t: number, end: "a" | "b", kind: number, body: Uint8Array, reliable: boolean): void {
    this.step(t, { send: end, kind, body: hex(body), reliable }, () => {
      if (reliable) this.ends[end].sendReliable(kind, body);
      else this.ends[end].sendBestEffort(kind, body);
    });
  }

  /** Loses the oldest unread write of `from` on the line. */
  lose(t: number, from: "a" | "b"): void {
    this.step(t, { lose: from }, () => this.#queues[from].shift());
  }

  json(name: string) {
    const options = (o: LinkOptions) => Object.fromEntries(Object.entries(o).filter(([key]) => key !== "store"));
    return { name, a: options(this.options.a), b: options(this.options.b), steps: this.steps };
  }
}

const device: LinkOptions = { session: 0x0d0d0d01, maxPacket: 64, maxMessage: 512, window: 1 };
const bridge: LinkOptions = { session: 0xb0b0b001 };

function sessionVectors() {
  const handshake = new Transcript({ a: device, b: bridge });
  handshake.tick(0, "a");
  handshake.tick(0, "b");
  handshake.settle(0);
  handshake.send(10, "a", MessageKind.Hello, encodeHello(greenhouse), true);
  handshake.settle(10);
  handshake.send(20, "a", MessageKind.Telemetry, encodeTelemetry([{ channel: 0, value: 21.5 }], greenhouse), false);
  handshake.send(20, "b", MessageKind.Command, encodeCommand({ id: 7, command: 1, argument: 2 }, greenhouse), true);
  handshake.settle(20);

  const retransmit = new Transcript({ a: device, b: bridge });
  retransmit.tick(0, "a");
  retransmit.tick(0, "b");
  retransmit.settle(0);
  retransmit.send(10, "a", MessageKind.Event, encodeEvent({ name: "door", type: ValueType.Bool, value: true }), true);
  retransmit.lose(10, "a");
  retransmit.tick(510, "a");
  retransmit.settle(510);
  retransmit.send(600, "a", MessageKind.Event, encodeEvent({ name: "door", type: ValueType.Bool, value: false }), true);
  retransmit.deliver(600, "a");
  retransmit.lose(600, "b");
  retransmit.tick(1100, "a");
  retransmit.settle(1100);

  const liveness = new Transcript({ a: device, b: bridge });
  liveness.tick(0, "a");
  liveness.tick(0, "b");
  liveness.settle(0);
  liveness.tick(5000, "b");
  liveness.settle(5000);
  liveness.step(6000, { close: "a", reason: CloseReason.GoingAway }, () => liveness.ends.a.close(CloseReason.GoingAway));
  liveness.settle(6000);

  const reboot = new Transcript({ a: device, b: bridge });
  reboot.tick(0, "a");
  reboot.tick(0, "b");
  reboot.settle(0);
  // Longer than one of the bridge's 256-byte packets: two fragments, one at a time (window 1).
  reboot.send(10, "a", MessageKind.Log, encodeLog({ level: LogLevel.Info, text: "boot: " + "sensor ok; ".repeat(26) }), true);
  reboot.settle(10);
  // Longer than one of the device's 64-byte packets: three fragments.
  reboot.send(15, "b", MessageKind.Command, encodeCommand({ id: 9, command: 2, argument: "label ".repeat(20) }, greenhouse), true);
  reboot.settle(15);
  reboot.restart(20, "a", 0x0d0d0d02);
  reboot.tick(20, "a");
  reboot.settle(20);
  reboot.send(30, "a", MessageKind.Log, encodeLog({ level: LogLevel.Warn, text: "rebooted" }), true);
  reboot.settle(30);
  return [
    handshake.json("handshake, hello, telemetry and a command"),
    retransmit.json("a lost event and a lost acknowledgement"),
    liveness.json("ping, pong and an orderly close"),
    reboot.json("messages in fragments both ways, then a device reboot"),
  ];
}

export function buildVectors(): Record<string, unknown> {
  return {
    "crc32c.json": crcVectors(),
    "cobs.json": cobsVectors(),
    "packets.json": packetVectors(),
    "receive.json": receiveVectors(),
    "messages.json": messageVectors(),
    "sessions.json": sessionVectors(),
  };
}

export function vectorText(content: unknown): string {
  return JSON.stringify(content, null, 1) + "\n";
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [name, content] of Object.entries(buildVectors())) writeFileSync(new URL(name, VECTORS_DIR), vectorText(content));
  console.log(`wrote ${Object.keys(buildVectors()).join(", ")} to ${fileURLToPath(VECTORS_DIR)}`);
}
