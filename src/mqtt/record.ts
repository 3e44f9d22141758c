// How the client writes what it must not lose into a MessageStore: keys sort in publish order,
// values are a small header plus the PUBLISH packet as mqtt-packet encodes it.
import mqttPacket from "mqtt-packet";
import type { IPublishPacket } from "mqtt-packet";
import { allocBytes } from "../core/bytes.js";

export const enum OutState {
  /** PUBLISH sent (or to be sent); awaiting PUBACK (QoS 1) or PUBREC (QoS 2). */
  Publish = 0,
  /** QoS 2 past PUBREC: PUBREL sent (or to be sent); awaiting PUBCOMP. */
  Pubrel = 1,
}

const FORMAT = 1;
const HEADER = 11; // format, state, protocol version, createdAt (float64 ms)

export interface OutRecord {
  state: OutState;
  createdAt: number;
  packet: IPublishPacket;
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

export function encodeOut(record: OutRecord, protocolVersion: 4 | 5): Uint8Array {
  // The packet is the application's (dup false); no copy, no new object per message.
  const body = mqttPacket.generate(record.packet, { protocolVersion });
  // From Node's pool where there is one: a store holds thousands of these.
  const out = allocBytes(HEADER + body.length);
  out[0] = FORMAT;
  out[1] = record.state;
  out[2] = protocolVersion;
  new DataView(out.buffer, out.byteOffset, out.byteLength).setFloat64(3, record.createdAt);
  out.set(body, HEADER);
  return out;
}

/** Decodes a value written by encodeOut; throws on anything else (a corrupt or foreign entry). */
export function decodeOut(bytes: Uint8Array): OutRecord {
  if (bytes.length < HEADER + 2 || bytes[0] !== FORMAT || (bytes[1] !== OutState.Publish && bytes[1] !== OutState.Pubrel)) {
    throw new Error("not an edgews outgoing-message record");
  }
  const protocolVersion = bytes[2]!;
  const createdAt = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(3);
  const parser = mqttPacket.parser({ protocolVersion });
  let packet: IPublishPacket | undefined;
  let failure: Error | undefined;
  parser.on("packet", (p) => {
    if (p.cmd === "publish") packet = p;
  });
  parser.on("error", (error: Error) => (failure = error));
  parser.parse(Buffer.from(bytes.buffer, bytes.byteOffset + HEADER, bytes.byteLength - HEADER));
  if (!packet || failure || packet.qos === 0 || packet.messageId === undefined) {
    throw new Error(`not a stored QoS 1/2 PUBLISH${failure ? `: ${failure.message}` : ""}`);
  }
  return { state: bytes[1] as OutState, createdAt, packet };
}
