// What one device sent, on its way to MQTT under the device's own budget (a token bucket):
//
// - Reliable messages and link states are written to the store strictly one after the other,
//   in the order the link took them, each only once the one before it is durable. While any is
//   waiting the intake is not `idle`, and the device session holds back every byte for the port
//   (acknowledgements included): the device keeps its messages and sends them again later. That
//   is the backpressure; a reliable message is never dropped for being over the budget.
// - A reliable message that no hello names yet (a device queues messages before its link is up,
//   so they come before its hello) is *held*: written to the store as it is, which lets the
//   device be acknowledged and send its hello, and published, first and in order, once a hello
//   names the device.
// - Best-effort telemetry waits in a queue of `maxQueuedTelemetry`; beyond it the oldest is
//   dropped and counted.
//
// Memory: at most maxPendingReliable messages (waiting or held; a device that respects its
// window never gets near: nothing is acknowledged while they wait) plus maxQueuedTelemetry.
import { TokenBucket } from "../protocol/rate.js";
import type { Taken } from "./taken-store.js";

export interface IntakeLimits {
  /** Messages per second a device may publish (telemetry and reliable together). Default 20. */
  rate: number;
  /** Messages a device may publish at once after a quiet spell. Default 40. */
  burst: number;
  /** Telemetry messages waiting for the budget; beyond, the oldest is dropped (counted). Default 50. */
  maxQueuedTelemetry: number;
  /**
   * Reliable messages taken and not yet published (waiting, or held for want of a hello). Only a
   * device that ignores its window or never says hello gets here; beyond, a message is dropped,
   * logged and counted, and its place in the sequence is still written. Default 64.
   */
  maxPendingReliable: number;
  /** ms before a store write that failed (store full) is tried again. Default 1000. */
  retryDelay: number;
}

export const DEFAULT_INTAKE_LIMITS: IntakeLimits = { rate: 20, burst: 40, maxQueuedTelemetry: 50, maxPendingReliable: 64, retryDelay: 1000 };

/** What `ReliableMessage.store` did. */
export type StoreOutcome =
  /** Publishing: resolves once the message and its state are durable. */
  | Promise<void>
  /** No hello names the device yet: the intake holds it. */
  | "unnamed"
  /** Nothing to publish (it does not decode: logged): only its state is written. */
  | undefined;

/** A reliable message taken from the device. */
export interface ReliableMessage {
  readonly kind: number;
  readonly body: Uint8Array;
  store(taken: Taken): StoreOutcome;
}

/** A reliable message with the link state after it (set when the link saves it, right after handing it over). */
export interface Entry {
  message?: ReliableMessage;
  taken?: Taken;
}

export interface IntakeHooks {
  /** Writes a state no message record carries; resolves when durable. */
  persist(taken: Taken): Promise<void>;
  /** Writes a message no hello names yet, as it is; resolves when durable. */
  hold(entry: Required<Entry>): Promise<void>;
  /** A held message was published (or had nothing to publish): its held record may go. */
  release(entry: Required<Entry>): void;
  /** Everything taken is durable: the device may be acknowledged. */
  idle(): void;
  /** A store write failed; it is retried after retryDelay. */
  storeFailed(error: Error): void;
  /** A reliable message dropped past maxPendingReliable. */
  reliableDropped(): void;
}

export interface IntakeCounters {
  /** Reliable messages published (QoS 2, stored first). */
  reliablePublished: number;
  /** Reliable messages held for want of a hello (published later). */
  reliableHeld: number;
  reliableDropped: number;
  telemetryPublished: number;
  telemetryDropped: number;
  /** Store writes that failed and were retried. */
  storeRetries: number;
}

export class Intake {
  readonly counters: IntakeCounters = { reliablePublished: 0, reliableHeld: 0, reliableDropped: 0, telemetryPublished: 0, telemetryDropped: 0, storeRetries: 0 };
  readonly #limits: IntakeLimits;
  readonly #hooks: IntakeHooks;
  readonly #bucket: TokenBucket;
  readonly #now: () => number;
  /** Taken, in order, not yet durable. */
  readonly #entries: Entry[] = [];
  /** Durable, waiting for a hello to name them; published before anything newer. */
  readonly #held: Array<Required<Entry>> = [];
  /** The oldest held message found no hello naming it: nothing to try before `named()`. */
  #heldUnnamed = false;
  /** The message whose state the link has not saved yet. */
  #awaitingState: Entry | undefined;
  /** Messages among the entries. */
  #messages = 0;
  #writing = false;
  /** After a failed write: no new write before this time. */
  #retryAt = 0;
  readonly #telemetry: Array<() => void> = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = 0;
  #closed = false;

  constructor(limits: IntakeLimits, hooks: IntakeHooks, now: () => number = () => performance.now()) {
    this.#limits = limits;
    this.#hooks = hooks;
    this.#now = now;
    this.#bucket = new TokenBucket(limits.rate, limits.burst, now);
  }

  /** Nothing taken is waiting to be made durable (held messages are durable). */
  get idle(): boolean {
    return this.#entries.length === 0;
  }

  /** Reliable messages and states not yet durable (or being written). */
  get pending(): number {
    return this.#entries.length;
  }

  get held(): number {
    return this.#held.length;
  }

  /** Held messages an earlier run left in the store, oldest first. */
  restoreHeld(entries: Array<Required<Entry>>): void {
    this.#held.push(...entries);
  }

  /** A reliable message, just handed over by the link; its state follows with `taken`. */
  pushMessage(message: ReliableMessage): void {
    if (this.#messages + this.#held.length >= this.#limits.maxPendingReliable) {
      this.counters.reliableDropped++;
      this.#hooks.reliableDropped();
      return; // its state still comes, as a state entry: the sequence stays in order on disk
    }
    this.#messages++;
    this.#awaitingState = { message };
    this.#entries.push(this.#awaitingState);
  }

  /** The link's state after the last message (or after adopting a new device session). */
  taken(taken: Taken): void {
    if (this.#awaitingState) {
      this.#awaitingState.taken = taken;
      this.#awaitingState = undefined;
    } else {
      const last = this.#entries.at(-1);
      const beingWritten = this.#writing && last === this.#entries[0];
      // Consecutive states: the newer one covers the older.
      if (last && !last.message && !beingWritten) last.taken = taken;
      else this.#entries.push({ taken });
    }
    this.pump();
  }

  /** Best-effort telemetry: `publish` runs when the budget allows; the oldest waiting is dropped beyond the bound. */
  pushTelemetry(publish: () => void): void {
    if (this.#telemetry.length >= this.#limits.maxQueuedTelemetry) {
      this.#telemetry.shift();
      this.counters.telemetryDropped++;
    }
    this.#telemetry.push(publish);
    this.pump();
  }

  /** A hello came: held messages may be named now. */
  named(): void {
    this.#heldUnnamed = false;
    this.pump();
  }

  /** Publishes what the budget allows. */
  pump(): void {
    if (this.#closed) return;
    this.#writeNext();
    while (this.#telemetry.length > 0 && this.#bucket.take()) {
      this.counters.telemetryPublished++;
      this.#telemetry.shift()!();
    }
    const wake = this.#nextWake();
    if (wake !== undefined) this.#schedule(wake);
  }

  /** Stops the timers; what waits stays unstored (the device sends it again to the next session). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#telemetry.length = 0;
  }

  /** ms until there is work (a token for what waits, the end of a retry delay), or undefined. */
  #nextWake(): number | undefined {
    const waits: number[] = [];
    if (this.#telemetry.length > 0) waits.push(this.#bucket.wait());
    const heldReady = this.#held.length > 0 && !this.#heldUnnamed;
    if (!this.#writing && (heldReady || this.#entries[0]?.taken)) waits.push(Math.max(this.#bucket.wait(), this.#retryAt - this.#now()));
    return waits.length > 0 ? Math.min(...waits) : undefined;
  }

  /** Starts the next write, if none is running: a held message a hello now names, else the oldest entry. */
  #writeNext(): void {
    if (this.#writing || this.#now() < this.#retryAt) return;
    const held = this.#held.length > 0 ? this.#publishHeld() : "none";
    if (held === "writing" || held === "budget") return;
    const head = this.#entries[0];
    if (!head?.taken) return;
    if (head.message && held === "unnamed") {
      // Behind messages still held, even if it could be named: the broker gets them in order.
      return this.#write(this.#hooks.hold(head as Required<Entry>), () => this.#heldNow(head as Required<Entry>));
    }
    if (head.message && this.#bucket.wait() > 0) return;
    const outcome = head.message ? head.message.store(head.taken) : undefined;
    if (outcome === "unnamed") return this.#write(this.#hooks.hold(head as Required<Entry>), () => this.#heldNow(head as Required<Entry>));
    if (outcome) {
      this.#bucket.take();
      return this.#write(outcome, () => this.#done(head, true));
    }
    this.#write(this.#hooks.persist(head.taken), () => this.#done(head, false));
  }

  /** Publishes the oldest held message if a hello names it now. */
  #publishHeld(): "writing" | "budget" | "unnamed" | "none" {
    const held = this.#held[0]!;
    if (this.#bucket.wait() > 0) return "budget";
    const outcome = held.message.store(held.taken);
    if (outcome === "unnamed") {
      this.#heldUnnamed = true;
      return "unnamed";
    }
    this.#heldUnnamed = false;
    const released = () => {
      this.#held.shift();
      this.#hooks.release(held);
      this.counters.reliablePublished++;
    };
    if (!outcome) {
      released();
      return this.#held.length > 0 ? this.#publishHeld() : "none";
    }
    this.#bucket.take();
    this.#write(outcome, released);
    return "writing";
  }

  #write(written: Promise<void>, onWritten: () => void): void {
    this.#writing = true;
    written.then(
      () => {
        this.#writing = false;
        onWritten();
        if (this.#closed) return;
        if (this.idle) this.#hooks.idle();
        this.pump();
      },
      (error: Error) => this.#failed(error),
    );
  }

  #done(head: Entry, published: boolean): void {
    this.#entries.shift();
    if (head.message) this.#messages--;
    if (published) this.counters.reliablePublished++;
  }

  #heldNow(head: Required<Entry>): void {
    this.#done(head, false);
    this.#held.push(head);
    this.counters.reliableHeld++;
  }

  #failed(error: Error): void {
    this.#writing = false;
    this.counters.storeRetries++;
    if (this.#closed) return;
    this.#retryAt = this.#now() + this.#limits.retryDelay;
    this.#hooks.storeFailed(error);
    this.pump();
  }

  #schedule(delay: number): void {
    const at = this.#now() + Math.max(1, delay);
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.pump();
    }, Math.max(1, delay));
  }
}
