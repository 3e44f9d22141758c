// The receiving half of the reliable class (docs/link-protocol.md §6): packets are taken in
// sequence order only (go-back-N: no reordering buffer, which an MCU can't spare), duplicates
// are recognised and re-acknowledged, fragments are joined into messages, and the sequence
// state can be kept in a store so that a restart neither delivers a message twice nor loses one.
import type { Packet } from "./packet.js";
import { LinkError, hex } from "./errors.js";

/** Where this end stands in the peer's sequence: what a store keeps. */
export interface ReceiveState {
  /** The peer's session (its SYNC's `session`); 0 for none. */
  peerSession: number;
  /** The sequence number (8 bits) of the next packet to take from it: always the first packet of a message. */
  expectedSeq: number;
}

/**
 * Keeps the receive state across restarts of this end. `save` runs after each message is
 * handed to the application and before it is acknowledged; it must be durable when it returns
 * for the guarantee to survive a power cut. Without a store, a restart may deliver once more
 * the messages that were taken but whose acknowledgement the peer had not yet received.
 */
export interface ReceiveStateStore {
  load(): ReceiveState | undefined;
  save(state: ReceiveState): void;
}

/** A message taken from the peer. */
export interface ReceivedMessage {
  kind: number;
  /** The whole body, the caller's to keep. */
  body: Uint8Array;
}

/** What became of a reliable packet. */
export type Taken =
  | { outcome: "duplicate" | "gap" }
  /** Taken; `message` when it completed one; `error` when it broke its message (dropped). `boundary`: a message ended here. */
  | { outcome: "taken"; message?: ReceivedMessage; error?: LinkError; boundary: boolean };

interface Assembly {
  kind: number;
  parts: Uint8Array[];
  bytes: number;
  nextIndex: number;
  /** A fragment broke the message: take the rest of its fragments without keeping them. */
  broken: boolean;
}

export class ReliableReceiver {
  readonly #maxMessage: number;
  readonly #store: ReceiveStateStore | undefined;
  #peerSession = 0;
  #expected = 0;
  #assembly: Assembly | undefined;

  constructor(maxMessage: number, store: ReceiveStateStore | undefined) {
    this.#maxMessage = maxMessage;
    this.#store = store;
    const saved = store?.load();
    if (saved) {
      this.#peerSession = saved.peerSession >>> 0;
      this.#expected = saved.expectedSeq & 0xff;
    }
  }

  get state(): ReceiveState {
    return { peerSession: this.#peerSession, expectedSeq: this.#expected };
  }

  /**
   * The peer's SYNC: keep our place in its session if we know that session, else start at its
   * resumeSeq (it will resend every message it still holds from there).
   */
  adopt(peerSession: number, resumeSeq: number): void {
    if (peerSession === this.#peerSession) return;
    this.#peerSession = peerSession;
    this.#expected = resumeSeq;
    this.#assembly = undefined;
    this.#store?.save(this.state);
  }

  /** A reliable packet (one with a seq) from the peer's current session. */
  take(packet: Packet): Taken {
    const distance = (packet.seq! - this.#expected) & 0xff;
    // Anything behind us (half the sequence space) was taken already: its acknowledgement was lost.
    if (distance >= 128) return { outcome: "duplicate" };
    // Ahead of us: the packets in between were lost; the sender goes back to them.
    if (distance !== 0) return { outcome: "gap" };
    this.#expected = (this.#expected + 1) & 0xff;
    return packet.fragment ? this.#fragment(packet) : this.#whole(packet);
  }

  /** Saves the state at a message boundary; call after the message was handed over. */
  commit(): void {
    this.#store?.save(this.state);
  }

  #whole(packet: Packet): Taken {
    let error: LinkError | undefined;
    if (this.#assembly && !this.#assembly.broken) {
      error = new LinkError("LINK_PEER_BAD_FRAGMENT", `a message of kind 0x${hex(packet.type)} came before the last fragment of the message of kind 0x${hex(this.#assembly.kind)} being joined (dropped)`);
      this.#assembly = undefined;
    }
    if (packet.body.length > this.#maxMessage) {
      return { outcome: "taken", error: this.#tooBig(packet.type, packet.body.length), boundary: true };
    }
    return { outcome: "taken", message: { kind: packet.type, body: packet.body.slice() }, error, boundary: true };
  }

  #fragment(packet: Packet): Taken {
    const { index, last } = packet.fragment!;
    let assembly = this.#assembly;
    let error: LinkError | undefined;
    if (index === 0) {
      if (assembly && !assembly.broken) error = new LinkError("LINK_PEER_BAD_FRAGMENT", `a new message began before the last fragment of the one being joined (dropped)`);
      assembly = this.#assembly = { kind: packet.type, parts: [], bytes: 0, nextIndex: 0, broken: false };
    } else if (!assembly || assembly.nextIndex !== index || assembly.kind !== packet.type) {
      // Only a peer that breaks §6.3 gets here: sequence numbers already rule out loss.
      if (assembly && !assembly.broken) error = new LinkError("LINK_PEER_BAD_FRAGMENT", `fragment ${index} of a message of kind 0x${hex(packet.type)} does not follow fragment ${assembly.nextIndex - 1} of kind 0x${hex(assembly.kind)} (dropped)`);
      assembly = this.#assembly = { kind: packet.type, parts: [], bytes: 0, nextIndex: index, broken: true };
    }
    assembly.nextIndex = index + 1;
    assembly.bytes += packet.body.length;
    if (!assembly.broken && assembly.bytes > this.#maxMessage) {
      assembly.broken = true;
      error = this.#tooBig(packet.type, assembly.bytes);
    }
    if (!assembly.broken) assembly.parts.push(packet.body.slice());
    if (!last) return { outcome: "taken", error, boundary: false };
    this.#assembly = undefined;
    const message = assembly.broken ? undefined : { kind: assembly.kind, body: join(assembly.parts, assembly.bytes) };
    return { outcome: "taken", message, error, boundary: true };
  }

  #tooBig(kind: number, bytes: number): LinkError {
    return new LinkError("LINK_PEER_MESSAGE_TOO_BIG", `the peer sent a message of kind 0x${hex(kind)} of ${bytes}+ bytes, over this end's maxMessage of ${this.#maxMessage} (dropped)`);
  }
}

function join(parts: Uint8Array[], bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
