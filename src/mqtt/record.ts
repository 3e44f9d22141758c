// How the client writes what it must not lose into a MessageStore: keys sort in publish order,
// values are a small header plus the PUBLISH packet as mqtt-packet encodes it. Those PUBLISH
// bytes are also what the client sends (with DUP set on a resend), so a message is encoded once
// and held once, as bytes, and the application's payload is not kept.
import mqttPacket from "mqtt-packet";
import type { IPublishPacket, Parser } from "mqtt-packet";
import type { ByteArena } from "./arena.js";

export const enum OutState {
  /** PUBLISH sent (or to be sent); awaiting PUBACK (QoS 1) or PUBREC (QoS 2). */
  Publish = 0,
  /** QoS 2 past PUBREC: PUBREL sent (or to be sent); awaiting PUBCOMP. */
  Pubrel = 1,
}

const FORMAT = 1;
const HEADER = 11; // format, state, protocol version, createdAt (float64 ms)
const DUP_FLAG = 0x08;

/** A stored outgoing message, decoded (when the client loads its store). */
export interface OutRecord {
  state: OutState;
  /** The MQTT version the PUBLISH is encoded for (that of the client that stored it). */
  protocolVersion: 4 | 5;
  createdAt: number;
  /** The stored PUBLISH (DUP 0), parsed. */
  packet: IPublishPacket & { messageId: number };
}

export function outKey(seq: number): string {
  return `out:${String(seq).padStart(16, "0")}`;
}

export function inKey(packetId: number): string {
  return `in:${String(packetId).padStart(5, "0")}`;
}

/** The sequence number in an `out:` key, or undefined for other keys. */
export function seqOfKey(key: string): number | undefined {
  return key.startsWith("out:") ? Number(key.slice(4)) : undefined;
}

/** The packet id in an `in:` key, or undefined for other keys. */
export function idOfInKey(key: string): number | undefined {
  return key.startsWith("in:") ? Number(key.slice(3)) : undefined;
}

/** A record for `packet` (a QoS 1/2 PUBLISH with its id, DUP 0), in `arena`. */
export function encodeOut(packet: IPublishPacket, state: OutState, createdAt: number, protocolVersion: 4 | 5, arena: ByteArena): Uint8Array {
  const body = mqttPacket.generate(packet, { protocolVersion });
  const out = arena.alloc(HEADER + body.length);
  out[0] = FORMAT;
  out[1] = state;
  out[2] = protocolVersion;
  new DataView(out.buffer, out.byteOffset, out.byteLength).setFloat64(3, createdAt);
  out.set(body, HEADER);
  return out;
}

/** A copy of `record` in `state`. */
export function withState(record: Uint8Array, state: OutState, arena: ByteArena): Uint8Array {
  const out = arena.copy(record);
  out[1] = state;
  return out;
}

/** The PUBLISH packet in `record`, as sent the first time (DUP 0); a view, not a copy. */
export function publishOf(record: Uint8Array): Uint8Array {
  return record.subarray(HEADER);
}

/** A copy of an encoded PUBLISH with the DUP flag set (a resend). */
export function withDup(publish: Uint8Array): Uint8Array {
  const out = Uint8Array.from(publish);
  out[0]! |= DUP_FLAG;
  return out;
}

/** Rewrites the packet id of the PUBLISH in `record` (a record of ours, not shared). */
export function setPacketId(record: Uint8Array, id: number): void {
  const publish = publishOf(record);
  let i = 1;
  while (publish[i]! & 0x80) i++; // Remaining Length, a variable byte integer
  i += 1;
  const at = i + 2 + ((publish[i]! << 8) | publish[i + 1]!); // after the topic
  publish[at] = id >> 8;
  publish[at + 1] = id & 0xff;
}

/** Decodes a value written by encodeOut; throws on anything else (a corrupt or foreign entry). */
export function decodeOut(bytes: Uint8Array): OutRecord {
  if (bytes.length < HEADER + 2 || bytes[0] !== FORMAT || (bytes[1] !== OutState.Publish && bytes[1] !== OutState.Pubrel)) {
    throw new Error("not an edgews outgoing-message record");
  }
  const protocolVersion = bytes[2];
  if (protocolVersion !== 4 && protocolVersion !== 5) throw new Error(`not an MQTT 3.1.1 or 5 record (protocol version ${protocolVersion})`);
  const createdAt = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(3);
  const packet = decodePublish(publishOf(bytes), protocolVersion);
  if (packet.qos === 0 || packet.messageId === undefined) throw new Error("not a stored QoS 1/2 PUBLISH");
  return { state: bytes[1] as OutState, protocolVersion, createdAt, packet: packet as OutRecord["packet"] };
}

/** One parser per protocol version, reused while it parses cleanly. */
const parsers: Partial<Record<4 | 5, Parser>> = {};

/** Parses one encoded PUBLISH (ours: from a record); throws if it is not one. */
export function decodePublish(publish: Uint8Array, protocolVersion: 4 | 5): IPublishPacket {
  const parser = (parsers[protocolVersion] ??= mqttPacket.parser({ protocolVersion }));
  let packet: IPublishPacket | undefined;
  let failure: Error | undefined;
  const onPacket = (p: { cmd: string }) => {
    if (p.cmd === "publish") packet = p as IPublishPacket;
  };
  const onError = (error: Error) => (failure = error);
  parser.on("packet", onPacket).on("error", onError);
  try {
    parser.parse(Buffer.from(publish.buffer, publish.byteOffset, publish.byteLength));
  } finally {
    parser.off("packet", onPacket).off("error", onError);
  }
  if (!packet || failure) {
    delete parsers[protocolVersion]; // it may hold part of a packet
    throw new Error(`not a PUBLISH packet${failure ? `: ${failure.message}` : ""}`);
  }
  return packet;
}
