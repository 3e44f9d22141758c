// The sending half of the reliable class (docs/link-protocol.md §6): a bounded queue of
// messages, split into numbered packets on their way out, go-back-N retransmission. Sequence
// numbers are kept here as plain increasing integers; the wire carries their low 8 bits.
import { CRC_BYTES } from "./framing.js";
import { MAX_FRAGMENTS, MAX_HEADER, type Packet } from "./packet.js";
import { LinkError } from "./errors.js";

export interface SenderLimits {
  /** Reliable packets sent and not yet acknowledged, at most (1..127). */
  window: number;
  /** Reliable messages accepted by `enqueue` and not yet acknowledged, at most. */
  maxQueuedMessages: number;
  /** Their bytes, at most. */
  maxQueuedBytes: number;
  /** The first retransmission timeout, in ms; it doubles on each timeout up to `maxRetransmitTimeout`. */
  retransmitTimeout: number;
  maxRetransmitTimeout: number;
  /** Retransmissions without an acknowledgement, after which the next timeout declares the peer gone. */
  maxRetransmits: number;
}

/** What the peer announced in its SYNC: the sizes our packets and messages must fit. */
export interface PeerLimits {
  maxPacket: number;
  maxMessage: number;
}

export interface OutMessage {
  /** The number `enqueue` returned. */
  readonly id: number;
  readonly kind: number;
  readonly body: Uint8Array;
  /** Sequence number of its first packet, -1 until that packet is first sent. */
  firstSeq: number;
  /** Packets it takes; fixed when `firstSeq` is. */
  fragments: number;
  /** Body bytes per packet; fixed when `firstSeq` is. */
  fragmentSize: number;
}

/** Body bytes of a reliable packet that is a whole message: room for control, type, seq and ack. */
function wholeCapacity(maxPacket: number): number {
  return maxPacket - CRC_BYTES - (MAX_HEADER - 1);
}

/** Body bytes of each fragment: room for the fragment byte too. */
function fragmentCapacity(maxPacket: number): number {
  return maxPacket - CRC_BYTES - MAX_HEADER;
}

/** Packets a reliable message of `length` bytes takes on a link whose peer accepts `maxPacket`-byte packets. */
export function reliablePackets(length: number, maxPacket: number): number {
  return length <= wholeCapacity(maxPacket) ? 1 : Math.ceil(length / fragmentCapacity(maxPacket));
}

/** Why a message of `length` bytes can't go to this peer, or undefined when it can. */
export function tooBigForPeer(length: number, peer: PeerLimits): string | undefined {
  if (length > peer.maxMessage) return `a ${length}-byte message exceeds the ${peer.maxMessage} bytes the peer accepts (its maxMessage)`;
  const packets = reliablePackets(length, peer.maxPacket);
  if (packets > MAX_FRAGMENTS) return `a ${length}-byte message would take ${packets} packets of the peer's ${peer.maxPacket} bytes; at most ${MAX_FRAGMENTS} fragments fit`;
  return undefined;
}

export type TimerOutcome = "retransmit" | "give-up" | undefined;

export class ReliableSender {
  readonly #limits: SenderLimits;
  readonly #queue: OutMessage[] = [];
  #queuedBytes = 0;
  #lastId = 0;
  /** The peer has acknowledged every packet before this one. */
  #ackedSeq = 0;
  /** The next packet to transmit; below `sentSeq` after a timeout sent us back (go-back-N). */
  #nextSeq = 0;
  /** One past the highest packet ever sent in this session: acknowledgements up to it are genuine. */
  #sentSeq = 0;
  #retransmitAt = Infinity;
  #timeout: number;
  #retries = 0;
  /** Packets sent again (after a timeout, or for a peer resuming behind what we had sent). */
  retransmits = 0;

  constructor(limits: SenderLimits) {
    this.#limits = limits;
    this.#timeout = limits.retransmitTimeout;
  }

  /** Messages accepted and not yet acknowledged. */
  get queued(): number {
    return this.#queue.length;
  }

  /** When the oldest packet in flight times out (Infinity when none is). */
  get retransmitAt(): number {
    return this.#retransmitAt;
  }

  /** Sequence number (8 bits) of the first packet of the oldest message not wholly acknowledged: where a peer without state starts. */
  get resumeSeq(): number {
    return this.#resume() & 0xff;
  }

  /** Accepts a message for delivery and returns its id; throws LinkError LINK_QUEUE_FULL beyond the queue's bounds. */
  enqueue(kind: number, body: Uint8Array): number {
    const { maxQueuedMessages, maxQueuedBytes } = this.#limits;
    if (this.#queue.length >= maxQueuedMessages || this.#queuedBytes + body.length > maxQueuedBytes) {
      throw new LinkError("LINK_QUEUE_FULL",
        `${this.#queue.length} reliable messages (${this.#queuedBytes} bytes) wait for acknowledgement: the queue holds ${maxQueuedMessages} messages and ${maxQueuedBytes} bytes (maxQueuedMessages, maxQueuedBytes); wait for 'delivered' events`);
    }
    const id = ++this.#lastId;
    this.#queue.push({ id, kind, body: body.slice(), firstSeq: -1, fragments: 0, fragmentSize: 0 });
    this.#queuedBytes += body.length;
    return id;
  }

  /** The next packet to put on the wire (its seq set, no ack), or undefined when the window is full or nothing waits. */
  next(peer: PeerLimits, now: number): Packet | undefined {
    if (this.#nextSeq - this.#ackedSeq >= this.#limits.window) return undefined;
    const seq = this.#nextSeq;
    const message = this.#queue.find((m) => m.firstSeq < 0 || seq < m.firstSeq + m.fragments);
    if (!message) return undefined;
    if (message.firstSeq < 0) assign(message, seq, peer.maxPacket);
    if (seq < this.#sentSeq) this.retransmits++;
    this.#nextSeq++;
    this.#sentSeq = Math.max(this.#sentSeq, this.#nextSeq);
    if (this.#retransmitAt === Infinity) this.#retransmitAt = now + this.#timeout;
    return packetOf(message, seq - message.firstSeq);
  }

  /**
   * Applies the peer's cumulative acknowledgement (the 8-bit sequence number it expects next).
   * Returns the messages now wholly acknowledged, or undefined when `ack` is outside what is
   * in flight (a stale or bogus value, ignored).
   */
  acknowledge(ack: number, now: number): OutMessage[] | undefined {
    const acked = this.#ackedSeq + ((ack - this.#ackedSeq) & 0xff);
    if (acked > this.#sentSeq) return undefined;
    if (acked > this.#ackedSeq) {
      this.#ackedSeq = acked;
      // Packets sent before a timeout sent us back may be acknowledged now: no need to resend them.
      this.#nextSeq = Math.max(this.#nextSeq, acked);
      this.#retries = 0;
      this.#timeout = this.#limits.retransmitTimeout;
      this.#retransmitAt = acked < this.#nextSeq ? now + this.#timeout : Infinity;
    }
    return this.#release();
  }

  /**
   * Starts sending again from what the peer's SYNC says it expects: `expectedSeq` when it
   * holds state for our session; else our resumeSeq, which it adopts (every message we hold is
   * then split again, for the packet size the peer has now). Returns the messages that were
   * already wholly acknowledged, or undefined when the peer expects a sequence number we can't
   * resend from (it lost state it had acknowledged): the caller then starts a new session.
   */
  resumeFrom(expectedSeq: number | undefined): OutMessage[] | undefined {
    const resume = this.#resume();
    this.pause();
    if (expectedSeq === undefined) {
      for (const message of this.#queue) message.firstSeq = -1;
      this.#ackedSeq = this.#nextSeq = this.#sentSeq = resume;
      return [];
    }
    const target = resume + ((expectedSeq - resume) & 0xff);
    if (target > this.#sentSeq) return undefined;
    this.#ackedSeq = this.#nextSeq = target;
    return this.#release();
  }

  /** Forgets all sequence state (a new session of ours): every message is sent again from seq 0. */
  restart(): void {
    for (const message of this.#queue) message.firstSeq = -1;
    this.#ackedSeq = this.#nextSeq = this.#sentSeq = 0;
    this.pause();
  }

  /** Stops the retransmission timer (link down); `resumeFrom` starts again. */
  pause(): void {
    this.#retransmitAt = Infinity;
    this.#retries = 0;
    this.#timeout = this.#limits.retransmitTimeout;
  }

  /** Call when `retransmitAt` has passed: go back to the oldest unacknowledged packet, or give up after too many tries. */
  onTimer(now: number): TimerOutcome {
    if (now < this.#retransmitAt) return undefined;
    if (this.#retries >= this.#limits.maxRetransmits) {
      this.pause();
      return "give-up";
    }
    this.#retries++;
    this.#timeout = Math.min(this.#timeout * 2, this.#limits.maxRetransmitTimeout);
    this.#retransmitAt = Infinity;
    this.#nextSeq = this.#ackedSeq;
    return "retransmit";
  }

  /** Removes the messages not begun yet that no longer fit the peer; returns them with the reason. */
  removeUnfit(peer: PeerLimits): Array<[OutMessage, string]> {
    const removed: Array<[OutMessage, string]> = [];
    for (let i = this.#queue.length - 1; i >= 0; i--) {
      const message = this.#queue[i];
      const reason = message.firstSeq < 0 ? tooBigForPeer(message.body.length, peer) : undefined;
      if (reason === undefined) continue;
      this.#queue.splice(i, 1);
      this.#queuedBytes -= message.body.length;
      removed.unshift([message, reason]);
    }
    return removed;
  }

  /** The messages not yet wholly acknowledged, oldest first (to hand back to the application). */
  pending(): readonly OutMessage[] {
    return this.#queue;
  }

  #resume(): number {
    const head = this.#queue[0];
    return head && head.firstSeq >= 0 ? head.firstSeq : this.#nextSeq;
  }

  #release(): OutMessage[] {
    let count = 0;
    for (const message of this.#queue) {
      if (message.firstSeq < 0 || message.firstSeq + message.fragments > this.#ackedSeq) break;
      this.#queuedBytes -= message.body.length;
      count++;
    }
    return this.#queue.splice(0, count);
  }
}

function assign(message: OutMessage, firstSeq: number, maxPacket: number): void {
  message.firstSeq = firstSeq;
  message.fragments = reliablePackets(message.body.length, maxPacket);
  message.fragmentSize = message.fragments === 1 ? message.body.length : fragmentCapacity(maxPacket);
}

function packetOf(message: OutMessage, index: number): Packet {
  const seq = (message.firstSeq + index) & 0xff;
  if (message.fragments === 1) return { type: message.kind, seq, body: message.body };
  const start = index * message.fragmentSize;
  const body = message.body.subarray(start, start + message.fragmentSize);
  return { type: message.kind, seq, fragment: { index, last: index === message.fragments - 1 }, body };
}
