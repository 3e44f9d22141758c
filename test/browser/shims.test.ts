// The browser build's shims (src/browser/) against Node's own: mqtt-packet bundled exactly as in
// dist/browser/ (our Buffer injected, our EventEmitter, bl's BufferList, debug off), loaded here,
// must encode every packet byte for byte as mqtt-packet on Node's Buffer does, and parse them to
// the same packets, for MQTT 3.1.1 and 5 with properties, split into chunks of any size.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import fc from "fast-check";
import mqttPacket from "mqtt-packet";
import type { Packet } from "mqtt-packet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without declarations
import { browserShims } from "../../scripts/browser-build.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface Shimmed {
  mqttPacket: typeof mqttPacket;
  Buffer: { from(text: string): Uint8Array & { toString(encoding?: string, start?: number, end?: number): string }; byteLength(text: string): number };
}

let dir: string | undefined;
let shimmed: Shimmed;

beforeAll(async () => {
  const result = await build({
    absWorkingDir: ROOT,
    stdin: { contents: `export { default as mqttPacket } from "mqtt-packet"; export { Buffer } from "./src/browser/buffer.ts";`, resolveDir: ROOT, loader: "js" },
    bundle: true,
    format: "esm",
    platform: "browser",
    inject: [join(ROOT, "src/browser/buffer.ts")],
    plugins: [browserShims(ROOT)],
    write: false,
    logLevel: "silent",
  });
  dir = await mkdtemp(join(tmpdir(), "edgews-shims-"));
  const file = join(dir, "mqtt-packet.mjs");
  await writeFile(file, result.outputFiles[0]!.text);
  shimmed = (await import(pathToFileURL(file).href)) as Shimmed;
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const bytes = (text: string) => Buffer.from(text);
const v5Publish = {
  payloadFormatIndicator: true, messageExpiryInterval: 60, topicAlias: 3, responseTopic: "re/ply", correlationData: bytes("c0rr"),
  userProperties: { a: "1", b: ["2", "3 ✓"] }, subscriptionIdentifier: 7, contentType: "application/json",
};

const PACKETS: Array<[name: string, version: 4 | 5, packet: Packet]> = [
  ["CONNECT", 4, { cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clientId: "client-✓", clean: true, keepalive: 30, username: "u", password: bytes("p"), will: { topic: "will/t", payload: bytes("gone"), qos: 1, retain: true } }],
  ["CONNECT", 5, { cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clientId: "c5", clean: false, keepalive: 60, properties: { sessionExpiryInterval: 3600, receiveMaximum: 20, maximumPacketSize: 65536, topicAliasMaximum: 10, requestProblemInformation: true, userProperties: { k: "v" } }, will: { topic: "w", payload: bytes("x"), qos: 2, retain: false, properties: { willDelayInterval: 5, contentType: "text/plain" } } }],
  ["CONNACK", 4, { cmd: "connack", returnCode: 0, sessionPresent: true }],
  ["CONNACK", 5, { cmd: "connack", reasonCode: 0, sessionPresent: false, properties: { serverKeepAlive: 20, assignedClientIdentifier: "assigned", topicAliasMaximum: 5, reasonString: "ok ✓", subscriptionIdentifiersAvailable: true } }],
  ["PUBLISH qos0", 4, { cmd: "publish", topic: "a/b", payload: bytes("héllo 🚀"), qos: 0, retain: false, dup: false }],
  ["PUBLISH qos1", 4, { cmd: "publish", topic: "a/b", payload: Buffer.alloc(300, 7), qos: 1, retain: true, dup: true, messageId: 65535 }],
  ["PUBLISH qos2", 5, { cmd: "publish", topic: "t/5", payload: bytes("{}"), qos: 2, retain: false, dup: false, messageId: 42, properties: v5Publish }],
  ["PUBLISH 200 KB", 4, { cmd: "publish", topic: "big", payload: Buffer.alloc(200_000, 1), qos: 1, retain: false, dup: false, messageId: 1 }],
  ["PUBACK", 4, { cmd: "puback", messageId: 9 }],
  ["PUBACK", 5, { cmd: "puback", messageId: 9, reasonCode: 0x10, properties: { reasonString: "no subscribers" } }],
  ["PUBREC", 5, { cmd: "pubrec", messageId: 10, reasonCode: 0 }],
  ["PUBREL", 4, { cmd: "pubrel", messageId: 11 }],
  ["PUBCOMP", 5, { cmd: "pubcomp", messageId: 12, reasonCode: 0x92 }],
  ["SUBSCRIBE", 4, { cmd: "subscribe", messageId: 3, subscriptions: [{ topic: "x/#", qos: 1 }, { topic: "y/+", qos: 2 }] }],
  ["SUBSCRIBE", 5, { cmd: "subscribe", messageId: 4, subscriptions: [{ topic: "$share/g/x", qos: 1, nl: true, rap: true, rh: 2 }], properties: { subscriptionIdentifier: 268435455, userProperties: { s: "t" } } }],
  ["SUBACK", 4, { cmd: "suback", messageId: 3, granted: [1, 128] }],
  ["SUBACK", 5, { cmd: "suback", messageId: 4, granted: [0x01, 0x97], properties: { reasonString: "quota" } }],
  ["UNSUBSCRIBE", 5, { cmd: "unsubscribe", messageId: 5, unsubscriptions: ["x/#", "ü/+"] }],
  ["UNSUBACK", 5, { cmd: "unsuback", messageId: 5, granted: [0, 0x11] }],
  ["PINGREQ", 4, { cmd: "pingreq" }],
  ["PINGRESP", 4, { cmd: "pingresp" }],
  ["DISCONNECT", 5, { cmd: "disconnect", reasonCode: 0x8e, properties: { reasonString: "taken over", serverReference: "other" } }],
  ["AUTH", 5, { cmd: "auth", reasonCode: 0x18, properties: { authenticationMethod: "SCRAM", authenticationData: bytes("data") } }],
];

/** A parsed packet as plain data (Buffers of either kind as byte arrays). */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: [...value] };
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

/** `packet` with every Buffer in it made by `from` (the shimmed mqtt-packet takes its own Buffers, as the client gives it). */
function withBuffers(value: unknown, from: (bytes: Uint8Array) => Uint8Array): any {
  if (value instanceof Uint8Array) return from(value);
  if (Array.isArray(value)) return value.map((v) => withBuffers(v, from));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withBuffers(v, from)]));
  return value;
}

/** Parses `wire` fed in chunks of `chunk` bytes; the packets, as plain data. */
function parse(lib: typeof mqttPacket, wire: Uint8Array, version: 4 | 5, chunk: number, toBuffer: (b: Uint8Array) => Uint8Array): unknown[] {
  const parser = lib.parser({ protocolVersion: version });
  const packets: unknown[] = [];
  parser.on("packet", (p) => packets.push(plain(p)));
  parser.on("error", (e) => packets.push({ error: e.message }));
  for (let at = 0; at < wire.length; at += chunk) parser.parse(toBuffer(wire.subarray(at, at + chunk)) as Buffer);
  return packets;
}

describe("mqtt-packet on the browser build's shims", () => {
  it.each(PACKETS)("%s (v%i): same bytes, same parse, in one piece and byte by byte", (_name, version, packet) => {
    const shimBuffer = (b: Uint8Array) => shimmed.Buffer.from(b as unknown as string);
    const ours = shimmed.mqttPacket.generate(withBuffers(packet, shimBuffer), { protocolVersion: version });
    const node = mqttPacket.generate(packet, { protocolVersion: version });
    expect(Buffer.from(ours).equals(node)).toBe(true);
    const expected = parse(mqttPacket, node, version, node.length, (b) => Buffer.from(b));
    expect(expected).toHaveLength(1);
    expect(parse(shimmed.mqttPacket, node, version, node.length, shimBuffer)).toEqual(expected);
    if (node.length < 5000) expect(parse(shimmed.mqttPacket, node, version, 1, shimBuffer)).toEqual(expected);
  });

  it("encodes and parses any topic and payload text as Node's Buffer does", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }), fc.string({ unit: "binary", maxLength: 200 }), fc.integer({ min: 1, max: 64 }), (topic, text, chunk) => {
        const packet: Packet = { cmd: "publish", topic, payload: text, qos: 1, messageId: 5, retain: false, dup: false };
        const node = mqttPacket.generate(packet);
        expect(Buffer.from(shimmed.mqttPacket.generate(packet)).equals(node)).toBe(true);
        expect(shimmed.Buffer.byteLength(text)).toBe(Buffer.byteLength(text));
        const shimBuffer = (b: Uint8Array) => shimmed.Buffer.from(b as unknown as string);
        expect(parse(shimmed.mqttPacket, node, 4, chunk, shimBuffer)).toEqual(parse(mqttPacket, node, 4, chunk, (b) => Buffer.from(b)));
      }),
      { numRuns: 300 },
    );
  });

  it("rejects a malformed packet with the same error", () => {
    const bad = Buffer.from([0x30, 0x05, 0x00, 0x09, 0x61]); // PUBLISH whose topic length runs past its end
    const shimBuffer = (b: Uint8Array) => shimmed.Buffer.from(b as unknown as string);
    expect(parse(shimmed.mqttPacket, bad, 4, bad.length, shimBuffer)).toEqual(parse(mqttPacket, bad, 4, bad.length, (b) => Buffer.from(b)));
  });
});
