// Layer 2 of the serial link (docs/link-protocol.md §4): the packet header, and the bodies of
// the link's own packets (SYNC, ACK, PING, PONG, CLOSE). Pure functions over bytes.
import { CRC_BYTES, MAX_MAX_PACKET, MIN_MAX_PACKET, sealPacket } from "./framing.js";

/** The version in the top two bits of every packet's control byte. */
export const LINK_VERSION = 1;

/** Packet types below 0x10 belong to the link itself; 0x10 to 0xFF are messages of that kind. */
export const PacketType = {
  Sync: 0x01,
  Ack: 0x02,
  Ping: 0x03,
  Pong: 0x04,
  Close: 0x05,
} as const;
export const FIRST_MESSAGE_KIND = 0x10;

// The control byte: vv s a f rrr (version, then which optional header bytes follow, then reserved).
const FLAG_SEQ = 0x20;
const FLAG_ACK = 0x10;
const FLAG_FRAG = 0x08;
const RESERVED_BITS = 0x07;
/** In the fragment byte: this is the message's last fragment (the low 7 bits are its index). */
const FRAGMENT_LAST = 0x80;
/** A message has at most 128 fragments: the index has 7 bits. */
export const MAX_FRAGMENTS = 128;
/** Header bytes at most: control, type, seq, ack, fragment. */
export const MAX_HEADER = 5;
/** PING and PONG carry at most this many opaque bytes. */
export const MAX_PING_BODY = 8;

export interface Fragment {
  /** 0 for the first fragment of a message, then 1, 2... up to 127. */
  index: number;
  last: boolean;
}

/** A packet without its CRC. Optional header fields are present exactly when defined. */
export interface Packet {
  type: number;
  /** Reliable messages only: the packet's sequence number, 0..255. */
  seq?: number;
  /** Piggybacked acknowledgement: the next sequence number expected from the peer. */
  ack?: number;
  /** Present on each packet of a message split over several packets. */
  fragment?: Fragment;
  body: Uint8Array;
}

/** Why a packet with a good CRC was refused. */
export const PacketError = {
  /** The version bits are not LINK_VERSION: a peer speaking another version of the protocol. */
  BadVersion: 1,
  /** Reserved bits set, an unknown link packet type, or fields and body that type does not allow. */
  BadHeader: 2,
} as const;
export type PacketError = (typeof PacketError)[keyof typeof PacketError];

/** Header bytes of a packet with these optional fields. */
export function headerSize(packet: Omit<Packet, "body" | "type">): number {
  return 2 + (packet.seq !== undefined ? 1 : 0) + (packet.ack !== undefined ? 1 : 0) + (packet.fragment ? 1 : 0);
}

/** The packet's bytes, CRC included (ready for `writeFrame`). */
export function encodePacket(packet: Packet): Uint8Array {
  const header = headerSize(packet);
  const out = new Uint8Array(header + packet.body.length + CRC_BYTES);
  let at = 0;
  out[at++] = (LINK_VERSION << 6) | (packet.seq !== undefined ? FLAG_SEQ : 0) | (packet.ack !== undefined ? FLAG_ACK : 0) | (packet.fragment ? FLAG_FRAG : 0);
  out[at++] = packet.type;
  if (packet.seq !== undefined) out[at++] = packet.seq;
  if (packet.ack !== undefined) out[at++] = packet.ack;
  if (packet.fragment) out[at++] = (packet.fragment.last ? FRAGMENT_LAST : 0) | packet.fragment.index;
  out.set(packet.body, at);
  return sealPacket(out);
}

/**
 * Parses a packet whose CRC has been checked (CRC removed). The body is a view of `bytes`.
 * Returns why it was refused instead when it breaks §4's rules.
 */
export function decodePacket(bytes: Uint8Array): Packet | PacketError {
  const control = bytes[0];
  if (control >>> 6 !== LINK_VERSION) return PacketError.BadVersion;
  if ((control & RESERVED_BITS) !== 0) return PacketError.BadHeader;
  const packet: Packet = { type: bytes[1], body: bytes };
  let at = 2;
  const header = 2 + ((control & FLAG_SEQ) !== 0 ? 1 : 0) + ((control & FLAG_ACK) !== 0 ? 1 : 0) + ((control & FLAG_FRAG) !== 0 ? 1 : 0);
  if (bytes.length < header) return PacketError.BadHeader;
  if (control & FLAG_SEQ) packet.seq = bytes[at++];
  if (control & FLAG_ACK) packet.ack = bytes[at++];
  if (control & FLAG_FRAG) {
    const fragment = bytes[at++];
    packet.fragment = { index: fragment & ~FRAGMENT_LAST, last: (fragment & FRAGMENT_LAST) !== 0 };
  }
  packet.body = bytes.subarray(at);
  return isWellFormed(packet) ? packet : PacketError.BadHeader;
}

/** §4.2: which header fields and body sizes each type allows. */
function isWellFormed(packet: Packet): boolean {
  const { type, seq, ack, fragment, body } = packet;
  if (type >= FIRST_MESSAGE_KIND) return fragment === undefined || (seq !== undefined && (fragment.last || fragment.index < MAX_FRAGMENTS - 1));
  if (seq !== undefined || fragment) return false;
  switch (type) {
    case PacketType.Sync:
      return ack === undefined && body.length === SYNC_BODY;
    case PacketType.Ack:
      return ack !== undefined && body.length === 0;
    case PacketType.Ping:
    case PacketType.Pong:
      return body.length <= MAX_PING_BODY;
    case PacketType.Close:
      return body.length === 1;
    default:
      return false;
  }
}

/** What a SYNC packet says (§5.1): the sender's sequence state both ways, and its buffer sizes. */
export interface SyncInfo {
  /** The sender's session: a nonzero number new whenever its sequence numbers start over (each boot). */
  session: number;
  /** The session of the peer the sender holds receive state for; 0 for none. */
  peerSession: number;
  /** Largest packet the sender accepts, header and CRC included (32 to 512). */
  maxPacket: number;
  /** Largest message the sender accepts, reassembled from fragments (1 to 65535). */
  maxMessage: number;
  /** Sequence number of the first packet of the oldest message the sender still holds for delivery (its next one if none). */
  resumeSeq: number;
  /** The next sequence number the sender expects from `peerSession` (0 when that is 0). */
  expectedSeq: number;
  /** The sender knows the receiver's session, and has seen the receiver know its own. */
  established: boolean;
}

export const SYNC_BODY = 15;
const SYNC_ESTABLISHED = 0x01;

export function encodeSync(info: SyncInfo): Uint8Array {
  const body = new Uint8Array(SYNC_BODY);
  const view = new DataView(body.buffer);
  view.setUint32(0, info.session, true);
  view.setUint32(4, info.peerSession, true);
  view.setUint16(8, info.maxPacket, true);
  view.setUint16(10, info.maxMessage, true);
  body[12] = info.resumeSeq;
  body[13] = info.expectedSeq;
  body[14] = info.established ? SYNC_ESTABLISHED : 0;
  return body;
}

/** The SYNC's fields, or undefined when they are out of range (a session of 0, sizes outside the limits). */
export function decodeSync(body: Uint8Array): SyncInfo | undefined {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const info: SyncInfo = {
    session: view.getUint32(0, true),
    peerSession: view.getUint32(4, true),
    maxPacket: view.getUint16(8, true),
    maxMessage: view.getUint16(10, true),
    resumeSeq: body[12],
    expectedSeq: body[13],
    // Other flag bits are reserved: ignored, so that a later version can use them.
    established: (body[14] & SYNC_ESTABLISHED) !== 0,
  };
  const sane = info.session !== 0 && info.maxPacket >= MIN_MAX_PACKET && info.maxPacket <= MAX_MAX_PACKET && info.maxMessage >= 1;
  return sane ? info : undefined;
}

/** Why a link was closed, in the CLOSE packet's one-byte body. */
export const CloseReason = {
  /** The sender is done: everything it had to send was acknowledged. */
  Normal: 0,
  /** The sender is going away (sleep, shutdown, reboot): expect a SYNC when it is back. */
  GoingAway: 1,
} as const;
