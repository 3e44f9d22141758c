// What one device sent, on its way to MQTT under the device's own budget (a token bucket):
//
// - Reliable messages and link states are written to the store strictly one after the other,
//   in the order the link took them, each only once the one before it is durable. While any is
//   waiting the intake is not `idle`, and the device session holds back every byte for the port
//   (acknowledgements included): the device keeps its messages and sends them again later. That
//   is the backpressure; a reliable message is never dropped for being over the budget.
// - Best-effort telemetry waits in a queue of `maxQueuedTelemetry`; beyond it the oldest is
//   dropped and counted.
//
// Memory: at most maxPendingReliable messages (a device that respects its window never gets
// near: nothing is acknowledged while they wait) plus maxQueuedTelemetry readings.
import { TokenBucket } from "./token-bucket.js";
import type { Taken } from "./taken-store.js";

export interface IntakeLimits {
  /** Messages per second a device may publish (telemetry and reliable together). Default 20. */
  rate: number;
  /** Messages a device may publish at once after a quiet spell. Default 40. */
  burst: number;
  /** Telemetry messages waiting for the budget; beyond, the oldest is dropped (counted). Default 50. */
  maxQueuedTelemetry: number;
  /**
   * Reliable messages taken and not yet stored. Only a device that ignores its window (nothing is
   * acknowledged while they wait) gets here; beyond, a message is dropped, logged and counted,
   * and its place in the sequence is still written. Default 64.
   */
  maxPendingReliable: number;
  /** ms before a store write that failed (store full) is tried again. Default 1000. */
  retryDelay: number;
}

export const DEFAULT_INTAKE_LIMITS: IntakeLimits = { rate: 20, burst: 40, maxQueuedTelemetry: 50, maxPendingReliable: 64, retryDelay: 1000 };

/** A reliable message taken from the device. */
export interface ReliableMessage {
  /** Whether it can be published now (it may wait for the device's hello). */
  ready(): boolean;
  /** Publishes it tagged with `taken`; resolves once message and state are durable. Undefined: nothing to publish (then only the state is written). */
  store(taken: Taken): Promise<void> | undefined;
}

interface Entry {
  message?: ReliableMessage;
  /** The link state after this entry; set when the link saves it (right after handing the message over). */
  taken?: Taken;
}

export interface IntakeHooks {
  /** Writes a state no message record carries; resolves when durable. */
  persist(taken: Taken): Promise<void>;
  /** Everything taken is durable: the device may be acknowledged. */
  idle(): void;
  /** A store write failed; it is retried after retryDelay. */
  storeFailed(error: Error): void;
  /** A reliable message dropped past maxPendingReliable. */
  reliableDropped(): void;
}

export interface IntakeCounters {
  /** Reliable messages stored (published QoS 2). */
  reliableStored: number;
  reliableDropped: number;
  telemetryPublished: number;
  telemetryDropped: number;
  /** Store writes that failed and were retried. */
  storeRetries: number;
}

export class Intake {
  readonly counters: IntakeCounters = { reliableStored: 0, reliableDropped: 0, telemetryPublished: 0, telemetryDropped: 0, storeRetries: 0 };
  readonly #limits: IntakeLimits;
  readonly #hooks: IntakeHooks;
  readonly #bucket: TokenBucket;
  readonly #now: () => number;
  readonly #entries: Entry[] = [];
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

  /** Nothing taken is waiting to be stored. */
  get idle(): boolean {
    return this.#entries.length === 0;
  }

  /** Reliable messages and states waiting (or being written). */
  get pending(): number {
    return this.#entries.length;
  }

  get queuedTelemetry(): number {
    return this.#telemetry.length;
  }

  /** A reliable message, just handed over by the link; its state follows with `taken`. */
  pushMessage(message: ReliableMessage): void {
    if (this.#messages >= this.#limits.maxPendingReliable) {
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
      // Consecutive states: the newer one covers the older (unless that one is being written).
      const beingWritten = this.#writing && last === this.#entries[0];
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

  /** Publishes what the budget allows; call again when a waiting message may have become ready. */
  pump(): void {
    if (this.#closed) return;
    this.#storeNext();
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
    const head = this.#entries[0];
    if (!this.#writing && head?.taken && (!head.message || head.message.ready())) {
      waits.push(Math.max(head.message ? this.#bucket.wait() : 0, this.#retryAt - this.#now()));
    }
    return waits.length > 0 ? Math.min(...waits) : undefined;
  }

  #storeNext(): void {
    const head = this.#entries[0];
    if (this.#writing || !head?.taken || this.#now() < this.#retryAt) return;
    let written: Promise<void> | undefined;
    if (head.message) {
      if (!head.message.ready() || !this.#bucket.take()) return;
      try {
        written = head.message.store(head.taken);
      } catch (error) {
        written = Promise.reject(error as Error);
      }
    }
    const isMessage = written !== undefined;
    written ??= this.#hooks.persist(head.taken);
    this.#writing = true;
    written.then(
      () => this.#stored(head, isMessage),
      (error: Error) => this.#failed(error),
    );
  }

  #stored(head: Entry, isMessage: boolean): void {
    this.#writing = false;
    if (this.#entries[0] === head) this.#entries.shift();
    if (head.message) this.#messages--;
    if (isMessage) this.counters.reliableStored++;
    if (this.#closed) return;
    if (this.idle) this.#hooks.idle();
    this.pump();
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
