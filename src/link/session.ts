// Layer 3 of the serial link (docs/link-protocol.md §5-6): one end of a link, sans-I/O. Bytes
// from the port go into `receive`, bytes for the port come out of the `write` event, time
// comes from the injected `now` (call `tick` when `nextTimeout` says). The same class runs in
// the bridge, in a browser on Web Serial and in the firmware simulator: nothing here needs Node.
import { CRC_BYTES, DEFAULT_MAX_PACKET, FrameDecoder, MAX_MAX_PACKET, MIN_MAX_PACKET, frameAll, type FrameCounters } from "./framing.js";
import {
  CloseReason, FIRST_MESSAGE_KIND, MAX_HEADER, PacketError, PacketType, decodePacket, decodeSync, encodePacket, encodeSync, type Packet,
} from "./packet.js";
import { ReliableReceiver, type ReceiveStateStore } from "./receiver.js";
import { ReliableSender, tooBigForPeer, type OutMessage, type PeerLimits, type SenderLimits } from "./sender.js";
import { LinkError } from "./errors.js";

export interface LinkOptions extends Partial<SenderLimits> {
  /** Largest packet this end accepts, header and CRC included (32..512): its receive buffer. Default 256. */
  maxPacket?: number;
  /** Largest message this end accepts, joined from fragments (1..65535). Default 4096. */
  maxMessage?: number;
  /** While not established, send a SYNC this often, in ms. Default 1000. */
  syncInterval?: number;
  /** Send a PING after this many ms without hearing from the peer (0: never). Default 5000. */
  pingInterval?: number;
  /** Declare the peer gone after this many ms without hearing from it (0: never). Default 15000. */
  deadPeerTimeout?: number;
  /** How long `close` waits for the queue to drain and for the peer's CLOSE, in ms. Default 5000. */
  closeTimeout?: number;
  /** This end's session: nonzero, new on every start. Default: 32 random bits from the platform's CSPRNG. */
  session?: number;
  /** Keeps the receive state across restarts (exactly-once delivery survives them). Default: none. */
  store?: ReceiveStateStore;
  /** The clock, in ms. Default `performance.now`. */
  now?: () => number;
}

export const DEFAULT_LINK_OPTIONS = {
  maxPacket: DEFAULT_MAX_PACKET,
  maxMessage: 4096,
  window: 4,
  maxQueuedMessages: 32,
  maxQueuedBytes: 16 * 1024,
  retransmitTimeout: 500,
  maxRetransmitTimeout: 4000,
  maxRetransmits: 6,
  syncInterval: 1000,
  pingInterval: 5000,
  deadPeerTimeout: 15_000,
  closeTimeout: 5000,
} as const;

export interface LinkEvents {
  /** Bytes for the port, in order: one call per call into the session at most. */
  write(bytes: Uint8Array): void;
  /** A message from the peer; `body` is the caller's to keep. */
  message(kind: number, body: Uint8Array, reliable: boolean): void;
  /** Both ends know each other's session: messages flow. */
  up?(): void;
  /** The peer stopped answering or restarted; reliable messages wait until it is back. */
  down?(reason: "dead-peer" | "no-ack" | "peer-restart"): void;
  /** The peer acknowledged the reliable message `sendReliable` returned `id` for. */
  delivered?(id: number): void;
  /** The link was closed (by `close`, or by the peer's CLOSE): messages still waiting stay queued for a reopening. */
  closed?(reason: number, byPeer: boolean): void;
  /** A message of ours the peer can't take, or a message of the peer's that broke the rules; the link goes on. */
  error?(error: LinkError): void;
}

/** Everything a link counts: line damage (FrameCounters) and what the protocol refused or repeated. */
export interface LinkStats extends FrameCounters {
  badVersion: number;
  badHeader: number;
  /** Packets other than SYNC before any SYNC from the peer: dropped. */
  unsynced: number;
  /** Reliable packets taken a second time (an acknowledgement was lost): acknowledged again, not delivered. */
  duplicates: number;
  /** Reliable packets dropped because one before them was lost. */
  gaps: number;
  /** Reliable packets sent again. */
  retransmits: number;
  /** Best-effort messages not sent because the link was not up. */
  droppedBestEffort: number;
  messagesIn: number;
  messagesOut: number;
  syncs: number;
}

export type LinkState = "syncing" | "established" | "closing" | "closed";

const defaultNow = () => performance.now();

function randomSession(): number {
  const word = new Uint32Array(1);
  do crypto.getRandomValues(word);
  while (word[0] === 0);
  return word[0];
}

export class LinkSession {
  readonly #options: Required<Omit<LinkOptions, "store" | "session">>;
  readonly #events: LinkEvents;
  readonly #now: () => number;
  readonly #decoder: FrameDecoder;
  readonly #sender: ReliableSender;
  readonly #receiver: ReliableReceiver;
  readonly #stats = { badVersion: 0, badHeader: 0, unsynced: 0, duplicates: 0, gaps: 0, droppedBestEffort: 0, messagesIn: 0, messagesOut: 0, syncs: 0 };
  #session: number;
  /** Both ends know each other's session. */
  #established = false;
  #phase: "open" | "closing" | "closed" = "open";
  #peer: PeerLimits | undefined;
  #ackOwed = false;
  #out: Uint8Array[] = [];
  #depth = 0;
  #syncAt = 0;
  #heardAt = 0;
  #pingAt = 0;
  #closeBy = Infinity;
  #closeSentAt = -Infinity;
  #closeReason: number = CloseReason.Normal;
  /** The last close was the peer's: a CLOSE repeated by it means our answer was lost. */
  #closedByPeer = false;

  constructor(options: LinkOptions, events: LinkEvents) {
    const merged = { ...DEFAULT_LINK_OPTIONS, now: defaultNow, ...definedOnly(options) };
    checkRange("maxPacket", merged.maxPacket, MIN_MAX_PACKET, MAX_MAX_PACKET);
    checkRange("maxMessage", merged.maxMessage, 1, 0xffff);
    checkRange("window", merged.window, 1, 127);
    checkRange("maxRetransmits", merged.maxRetransmits, 0, 1000);
    for (const name of ["maxQueuedMessages", "maxQueuedBytes", "retransmitTimeout", "maxRetransmitTimeout", "syncInterval", "closeTimeout"] as const) checkRange(name, merged[name], 1, 2 ** 31);
    for (const name of ["pingInterval", "deadPeerTimeout"] as const) checkRange(name, merged[name], 0, 2 ** 31);
    this.#options = merged;
    this.#events = events;
    this.#now = merged.now;
    this.#session = options.session ?? randomSession();
    checkRange("session", this.#session, 1, 0xffffffff);
    this.#decoder = new FrameDecoder(merged.maxPacket, (packet) => this.#onPacket(packet));
    this.#sender = new ReliableSender(merged);
    this.#receiver = new ReliableReceiver(merged.maxMessage, options.store);
    this.#syncAt = this.#now();
  }

  get state(): LinkState {
    if (this.#phase !== "open") return this.#phase;
    return this.#established ? "established" : "syncing";
  }

  get session(): number {
    return this.#session;
  }

  get stats(): LinkStats {
    return { ...this.#decoder.counters, ...this.#stats, retransmits: this.#sender.retransmits };
  }

  /** Reliable messages accepted and not yet acknowledged, oldest first (ids, kinds and bodies): what to keep if this session is discarded. */
  pending(): ReadonlyArray<Pick<OutMessage, "id" | "kind" | "body">> {
    return this.#sender.pending();
  }

  /** Bytes read from the port, in any chunking. */
  receive(bytes: Uint8Array): void {
    this.#run(() => this.#decoder.push(bytes));
  }

  /** Runs the timers that are due (SYNC, retransmission, ping, dead peer, close). */
  tick(): void {
    this.#run(() => {});
  }

  /** When `tick` has work next (a `now` value), or Infinity. */
  nextTimeout(): number {
    const o = this.#options;
    if (this.#phase === "closed") return Infinity;
    let next = this.#sender.retransmitAt;
    if (!this.#established) next = Math.min(next, this.#syncAt);
    else {
      if (o.pingInterval > 0) next = Math.min(next, Math.max(this.#pingAt, this.#heardAt + o.pingInterval));
      if (o.deadPeerTimeout > 0) next = Math.min(next, this.#heardAt + o.deadPeerTimeout);
    }
    if (this.#phase === "closing") {
      next = Math.min(next, this.#closeBy);
      if (this.#canSendClose()) next = Math.min(next, this.#closeSentAt + o.retransmitTimeout);
    }
    return next;
  }

  /**
   * Queues a message for exactly-once delivery and returns its id (see the `delivered` event).
   * It waits, bounded by maxQueuedMessages and maxQueuedBytes (LinkError LINK_QUEUE_FULL
   * beyond), while the link is down. Bodies larger than a packet are split into fragments.
   */
  sendReliable(kind: number, body: Uint8Array): number {
    this.#checkSendable(kind);
    const reason = this.#peer && tooBigForPeer(body.length, this.#peer);
    if (reason) throw new LinkError("LINK_MESSAGE_TOO_BIG", reason);
    let id = 0;
    this.#run(() => (id = this.#sender.enqueue(kind, body)));
    this.#stats.messagesOut++;
    return id;
  }

  /**
   * Sends a message once, now, if the link is up (true); drops and counts it otherwise (false).
   * It must fit one packet of the peer's (maxPacket - 7 bytes): best-effort messages are never
   * split, since losing one fragment would lose them all.
   */
  sendBestEffort(kind: number, body: Uint8Array): boolean {
    this.#checkSendable(kind);
    if (!this.#established || !this.#peer) {
      this.#stats.droppedBestEffort++;
      return false;
    }
    const room = this.#peer.maxPacket - CRC_BYTES - (MAX_HEADER - 2);
    if (body.length > room) {
      throw new LinkError("LINK_MESSAGE_TOO_BIG", `a best-effort message carries at most ${room} bytes on this link (the peer's maxPacket ${this.#peer.maxPacket} less 7), got ${body.length}: send it reliable`);
    }
    this.#run(() => this.#emit({ type: kind, body }));
    this.#stats.messagesOut++;
    return true;
  }

  /**
   * Orderly close: no more messages are accepted; once every queued reliable message is
   * acknowledged (or `closeTimeout` passes), a CLOSE goes out and the link is closed when the
   * peer's CLOSE answers it (or at the timeout).
   */
  close(reason: number = CloseReason.Normal): void {
    if (this.#phase !== "open") return;
    this.#run(() => {
      this.#phase = "closing";
      this.#closeReason = reason & 0xff;
      this.#closeBy = this.#now() + this.#options.closeTimeout;
    });
  }

  /** After a close: start looking for the peer again (a SYNC from the peer does that too). */
  open(): void {
    if (this.#phase !== "closed") return;
    this.#run(() => this.#reopen(this.#now()));
  }

  #checkSendable(kind: number): void {
    if (!Number.isInteger(kind) || kind < FIRST_MESSAGE_KIND || kind > 0xff) {
      throw new LinkError("LINK_BAD_KIND", `message kinds are 0x10..0xFF (below are the link's own packets), got ${kind}`);
    }
    if (this.#phase !== "open") {
      throw new LinkError("LINK_CLOSED", `the link is ${this.#phase}: call open() to send again`);
    }
  }

  /** Every entry point: do the work, run due timers, send what can go, then one write. */
  #run(work: () => void): void {
    this.#depth++;
    try {
      work();
      if (this.#depth === 1) {
        this.#timers(this.#now());
        this.#pump();
      }
    } finally {
      // Also when a message handler threw: what was already decided still goes out.
      if (--this.#depth === 0) this.#flush();
    }
  }

  #flush(): void {
    if (this.#out.length === 0) return;
    const packets = this.#out;
    this.#out = [];
    this.#events.write(frameAll(packets));
  }

  #emit(packet: Packet): void {
    if (this.#ackOwed && packet.type !== PacketType.Sync) {
      packet.ack = this.#receiver.state.expectedSeq;
      this.#ackOwed = false;
    }
    this.#out.push(encodePacket(packet));
  }

  #pump(): void {
    if (this.#established && this.#phase !== "closed") {
      for (let packet = this.#sender.next(this.#peer!, this.#now()); packet; packet = this.#sender.next(this.#peer!, this.#now())) this.#emit(packet);
    }
    if (this.#ackOwed) this.#emit({ type: PacketType.Ack, body: new Uint8Array(0) });
  }

  #timers(now: number): void {
    if (this.#phase === "closed") return;
    if (this.#sender.onTimer(now) === "give-up") this.#down("no-ack", now);
    if (!this.#established) {
      if (now >= this.#syncAt) this.#sendSync(now);
    } else this.#liveness(now);
    if (this.#phase === "closing") this.#closing(now);
  }

  #liveness(now: number): void {
    const o = this.#options;
    // Deadlines compared as nextTimeout computes them (now - heardAt >= interval can round the other way).
    if (o.deadPeerTimeout > 0 && now >= this.#heardAt + o.deadPeerTimeout) this.#down("dead-peer", now);
    else if (o.pingInterval > 0 && now >= this.#heardAt + o.pingInterval && now >= this.#pingAt) {
      this.#pingAt = now + o.pingInterval;
      this.#emit({ type: PacketType.Ping, body: new Uint8Array(0) });
    }
  }

  /** A CLOSE may go once the peer is there and has acknowledged everything we queued. */
  #canSendClose(): boolean {
    return this.#established && this.#sender.queued === 0;
  }

  #closing(now: number): void {
    if (now >= this.#closeBy) this.#toClosed(false);
    else if (this.#canSendClose() && now >= this.#closeSentAt + this.#options.retransmitTimeout) {
      this.#closeSentAt = now;
      this.#emit({ type: PacketType.Close, body: Uint8Array.of(this.#closeReason) });
    }
  }

  #down(reason: "dead-peer" | "no-ack" | "peer-restart", now: number): void {
    if (!this.#established) return;
    this.#established = false;
    this.#sender.pause();
    this.#syncAt = now;
    this.#events.down?.(reason);
  }

  #reopen(now: number): void {
    this.#phase = "open";
    this.#established = false;
    this.#syncAt = now;
  }

  #toClosed(byPeer: boolean, peerReason = 0): void {
    this.#phase = "closed";
    this.#closedByPeer = byPeer;
    this.#sender.pause();
    this.#closeBy = Infinity;
    this.#closeSentAt = -Infinity;
    this.#events.closed?.(byPeer ? peerReason : this.#closeReason, byPeer);
  }

  #sendSync(now: number): void {
    this.#syncAt = now + this.#options.syncInterval;
    this.#stats.syncs++;
    const receive = this.#receiver.state;
    this.#emit({
      type: PacketType.Sync,
      body: encodeSync({
        session: this.#session,
        peerSession: receive.peerSession,
        maxPacket: this.#options.maxPacket,
        maxMessage: this.#options.maxMessage,
        resumeSeq: this.#sender.resumeSeq,
        expectedSeq: receive.expectedSeq,
        established: this.#established,
      }),
    });
  }

  #onPacket(bytes: Uint8Array): void {
    const packet = decodePacket(bytes);
    if (packet === PacketError.BadVersion) this.#stats.badVersion++;
    else if (packet === PacketError.BadHeader) this.#stats.badHeader++;
    else if (packet.type === PacketType.Sync) this.#onSync(packet.body);
    else if (this.#receiver.state.peerSession === 0) this.#stats.unsynced++;
    else this.#onPeerPacket(packet);
  }

  #onSync(body: Uint8Array): void {
    const info = decodeSync(body);
    if (!info) {
      this.#stats.badHeader++;
      return;
    }
    const now = this.#now();
    this.#heardAt = now;
    if (this.#phase === "closed") this.#reopen(now);
    this.#peer = { maxPacket: info.maxPacket, maxMessage: info.maxMessage };
    this.#receiver.adopt(info.session, info.resumeSeq);
    let peerKnowsUs = info.peerSession === this.#session;
    if (!this.#resumeSending(peerKnowsUs ? info.expectedSeq : undefined)) peerKnowsUs = false;
    if (!peerKnowsUs) this.#down("peer-restart", now);
    else if (!this.#established) this.#up(now);
    if (!info.established) this.#sendSync(now);
  }

  /**
   * Resends from where the peer's SYNC says it stands. Returns false when it stands where we
   * can't resend from: a new session of ours then starts.
   */
  #resumeSending(expectedSeq: number | undefined): boolean {
    const released = this.#sender.resumeFrom(expectedSeq);
    if (!released) {
      // The peer acknowledged messages and then forgot them (a store that lost writes): they
      // were delivered; start our numbering over so that nothing later is mistaken for them.
      this.#session = randomSession();
      this.#sender.restart();
      return false;
    }
    this.#report(released);
    for (const [message, reason] of this.#sender.removeUnfit(this.#peer!)) {
      this.#events.error?.(new LinkError("LINK_MESSAGE_TOO_BIG", `message ${message.id} was not sent: ${reason}`, message.id));
    }
    return true;
  }

  #up(now: number): void {
    this.#established = true;
    this.#pingAt = now;
    this.#events.up?.();
  }

  #onPeerPacket(packet: Packet): void {
    this.#heardAt = this.#now();
    if (packet.ack !== undefined) this.#report(this.#sender.acknowledge(packet.ack, this.#heardAt) ?? []);
    if (packet.type >= FIRST_MESSAGE_KIND) {
      if (packet.seq !== undefined) this.#onReliable(packet);
      else this.#deliver(packet.type, packet.body.slice(), false);
      return;
    }
    switch (packet.type) {
      case PacketType.Ping:
        this.#emit({ type: PacketType.Pong, body: packet.body });
        break;
      case PacketType.Close:
        this.#onClose(packet.body[0]);
        break;
    }
  }

  #onReliable(packet: Packet): void {
    const taken = this.#receiver.take(packet);
    this.#ackOwed = true;
    if (taken.outcome !== "taken") this.#stats[taken.outcome === "duplicate" ? "duplicates" : "gaps"]++;
    else {
      if (taken.error) this.#events.error?.(taken.error);
      try {
        if (taken.message) this.#deliver(taken.message.kind, taken.message.body, true);
      } finally {
        // Saved even when the handler throws: the message was handed over, it is not delivered twice.
        if (taken.boundary) this.#receiver.commit();
      }
    }
  }

  #deliver(kind: number, body: Uint8Array, reliable: boolean): void {
    this.#stats.messagesIn++;
    this.#events.message(kind, body, reliable);
  }

  #onClose(reason: number): void {
    if (this.#phase === "closed") {
      // The peer repeats its CLOSE: our answer was lost. Answers to our own repeated CLOSE get
      // no answer, or the two ends would echo CLOSEs forever.
      if (this.#closedByPeer) this.#emit({ type: PacketType.Close, body: Uint8Array.of(CloseReason.Normal) });
      return;
    }
    // Our CLOSE went out already: this one answers it. Otherwise answer it.
    const answer = this.#phase === "closing" && this.#closeSentAt > -Infinity;
    if (!answer) this.#emit({ type: PacketType.Close, body: Uint8Array.of(CloseReason.Normal) });
    this.#toClosed(!answer, reason);
  }

  #report(released: OutMessage[]): void {
    for (const message of released) this.#events.delivered?.(message.id);
  }
}

function checkRange(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new LinkError("LINK_BAD_OPTION", `${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

/** The options the caller set (an explicit undefined keeps the default). */
function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
