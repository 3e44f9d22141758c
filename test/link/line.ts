// A simulated serial line for the link tests: two sans-I/O sessions joined by two one-way
// wires with a baud rate, a latency and optional noise, on a simulated clock. Nothing here
// waits for real time: `runUntil` jumps from one due event to the next.
import { FrameDecoder, MAX_MAX_PACKET, frameAll } from "../../src/link/framing.js";
import { decodePacket, encodePacket, type Packet } from "../../src/link/packet.js";
import { LinkSession, type LinkEvents, type LinkOptions } from "../../src/link/session.js";

export interface NoiseCounts {
  flips: number;
  drops: number;
  inserts: number;
  bursts: number;
}

/**
 * Damages bytes at `rate` errors per byte: each error is, with equal odds, a flipped bit, a
 * dropped byte, an inserted random byte, or a burst (2..16 bytes replaced by random ones).
 */
export class Noise {
  readonly counts: NoiseCounts = { flips: 0, drops: 0, inserts: 0, bursts: 0 };
  readonly #rate: number;
  readonly #random: () => number;

  constructor(rate: number, random: () => number) {
    this.#rate = rate;
    this.#random = random;
  }

  apply(bytes: Uint8Array): Uint8Array {
    const random = this.#random;
    const out: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      if (random() >= this.#rate) {
        out.push(bytes[i]);
        continue;
      }
      const kind = Math.floor(random() * 4);
      if (kind === 0) {
        this.counts.flips++;
        out.push(bytes[i] ^ (1 << Math.floor(random() * 8)));
      } else if (kind === 1) {
        this.counts.drops++;
      } else if (kind === 2) {
        this.counts.inserts++;
        out.push(Math.floor(random() * 256), bytes[i]);
      } else {
        this.counts.bursts++;
        const length = 2 + Math.floor(random() * 15);
        for (let k = 0; k < length; k++) out.push(Math.floor(random() * 256));
        i += length - 1;
      }
    }
    return Uint8Array.from(out);
  }
}

export class Clock {
  time = 0;
  readonly now = (): number => this.time;
}

interface InFlight {
  at: number;
  bytes: Uint8Array;
}

/** One direction of the line: bytes leave one at a time at the baud rate and arrive `latency` ms later. */
export class Wire {
  readonly #clock: Clock;
  readonly #bytesPerMs: number;
  readonly #latency: number;
  readonly #queue: InFlight[] = [];
  #freeAt = 0;
  noise: Noise | undefined;
  /** Cut: everything written is lost (a pulled cable). */
  cut = false;
  /** Keeps only the packets for which it returns true (the others are lost on the line). */
  filter: ((packet: Packet) => boolean) | undefined;
  /** Every packet written, in order, as sent (before noise or filter). */
  readonly packets: Packet[] = [];
  written = 0;
  readonly #parser = new FrameDecoder(MAX_MAX_PACKET, (bytes) => this.#lastBatch.push(decodePacket(bytes.slice()) as Packet));
  #lastBatch: Packet[] = [];

  constructor(clock: Clock, baud: number, latency: number) {
    this.#clock = clock;
    this.#bytesPerMs = baud / 10 / 1000;
    this.#latency = latency;
  }

  write(bytes: Uint8Array): void {
    this.written += bytes.length;
    const start = Math.max(this.#clock.time, this.#freeAt);
    this.#freeAt = start + bytes.length / this.#bytesPerMs;
    this.#lastBatch = [];
    this.#parser.push(bytes);
    this.packets.push(...this.#lastBatch);
    if (this.cut) return;
    if (this.filter) bytes = frameAll(this.#lastBatch.filter(this.filter).map(encodePacket));
    const damaged = this.noise ? this.noise.apply(bytes) : bytes.slice();
    this.#queue.push({ at: this.#freeAt + this.#latency, bytes: damaged });
  }

  /** When the next chunk arrives (Infinity when none is on its way). */
  get nextAt(): number {
    return this.#queue[0]?.at ?? Infinity;
  }

  /** The chunks due by now, in order. */
  take(): Uint8Array[] {
    const due: Uint8Array[] = [];
    while (this.#queue.length > 0 && this.#queue[0].at <= this.#clock.time) due.push(this.#queue.shift()!.bytes);
    return due;
  }

  /** Whether the line is still busy sending what was written. */
  get busyUntil(): number {
    return this.#freeAt;
  }
}

export interface Received {
  kind: number;
  body: Uint8Array;
  reliable: boolean;
}

/** One end: its session and what its events reported. */
export interface End {
  session: LinkSession;
  received: Received[];
  delivered: number[];
  log: string[];
  wire: Wire;
}

export interface PairOptions {
  baud?: number;
  latency?: number;
  a?: LinkOptions;
  b?: LinkOptions;
}

/** Two sessions, "a" (say, the device) and "b" (the bridge), on one simulated line. */
export class LinkPair {
  readonly clock = new Clock();
  readonly a: End;
  readonly b: End;
  readonly #baud: number;
  readonly #latency: number;

  constructor(options: PairOptions = {}) {
    this.#baud = options.baud ?? 115_200;
    this.#latency = options.latency ?? 1;
    this.a = this.#end(options.a ?? {}, { session: 0xa0000001 });
    this.b = this.#end(options.b ?? {}, { session: 0xb0000001 });
  }

  /** Replaces one end's session, as after a restart of that side (the wire and its bytes in flight stay). */
  restart(which: "a" | "b", options: LinkOptions): End {
    const end = this.#end(options, {}, this[which].wire);
    (this as Record<"a" | "b", End>)[which] = end;
    return end;
  }

  #end(options: LinkOptions, defaults: LinkOptions, wire = new Wire(this.clock, this.#baud, this.#latency)): End {
    const end = { received: [], delivered: [], log: [], wire } as unknown as End;
    const events: LinkEvents = {
      write: (bytes) => wire.write(bytes),
      message: (kind, body, reliable) => end.received.push({ kind, body, reliable }),
      delivered: (id) => end.delivered.push(id),
      up: () => end.log.push("up"),
      down: (reason) => end.log.push(`down ${reason}`),
      closed: (reason, byPeer) => end.log.push(`closed ${reason} ${byPeer ? "by peer" : "by us"}`),
      error: (error) => end.log.push(`error ${error.code}`),
    };
    end.session = new LinkSession({ now: this.clock.now, ...defaults, ...options }, events);
    return end;
  }

  /** Runs events in time order until `until` (ms), calling `between` after each step. */
  runUntil(until: number, between?: () => void): void {
    let stuck = 0;
    for (;;) {
      const next = Math.min(this.a.wire.nextAt, this.b.wire.nextAt, this.a.session.nextTimeout(), this.b.session.nextTimeout());
      if (next > until) break;
      // A timer that stays due after its tick would spin here forever: fail instead.
      stuck = next <= this.clock.time ? stuck + 1 : 0;
      if (stuck > 1000) throw new Error(`no progress at ${this.clock.time} ms: a timer stays due`);
      this.clock.time = Math.max(this.clock.time, next);
      for (const chunk of this.a.wire.take()) this.b.session.receive(chunk);
      for (const chunk of this.b.wire.take()) this.a.session.receive(chunk);
      this.a.session.tick();
      this.b.session.tick();
      between?.();
    }
    this.clock.time = Math.max(this.clock.time, until);
    this.a.session.tick();
    this.b.session.tick();
  }
}
