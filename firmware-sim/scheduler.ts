// Time for simulated devices, injected: real timers for `edgews sim`, a virtual clock for tests
// and in-process benchmarks, where an hour of a fleet's traffic runs in a second and every run
// with the same seed is the same run.

export interface Timer {
  cancel(): void;
}

export interface Scheduler {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /** Calls `callback` once, when `now()` has reached `at` (at once if it has). */
  at(at: number, callback: () => void): Timer;
}

/** Wall-clock time: `performance.now()` and `setTimeout`. */
export class RealScheduler implements Scheduler {
  now(): number {
    return performance.now();
  }

  at(at: number, callback: () => void): Timer {
    const handle = setTimeout(callback, Math.max(0, at - this.now()));
    return { cancel: () => clearTimeout(handle) };
  }
}

interface Pending {
  at: number;
  /** Order of scheduling: timers due at the same time run in the order they were set. */
  order: number;
  callback: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told to, jumping from one due timer to the next. A timer whose
 * callback keeps setting timers that are already due would loop forever at one instant:
 * `runUntil` fails instead, naming the time.
 */
export class VirtualScheduler implements Scheduler {
  #time: number;
  #order = 0;
  /** A binary min-heap on (at, order). */
  readonly #heap: Pending[] = [];

  constructor(start = 0) {
    this.#time = start;
  }

  now(): number {
    return this.#time;
  }

  at(at: number, callback: () => void): Timer {
    const pending: Pending = { at: Math.max(at, this.#time), order: this.#order++, callback, cancelled: false };
    this.#push(pending);
    return { cancel: () => void (pending.cancelled = true) };
  }

  /** Runs every timer due up to `until` (ms), in time order, then sets the clock to `until`. */
  runUntil(until: number, maxTimersPerInstant = 100_000): void {
    let sameInstant = 0;
    for (let next = this.#peek(); next && next.at <= until; next = this.#peek()) {
      this.#pop();
      sameInstant = next.at === this.#time ? sameInstant + 1 : 0;
      if (sameInstant > maxTimersPerInstant) throw new Error(`virtual clock stuck at ${this.#time} ms: timers keep setting timers that are already due`);
      this.#time = next.at;
      next.callback();
    }
    this.#time = Math.max(this.#time, until);
  }

  /** Runs the clock `ms` forward. */
  advance(ms: number): void {
    this.runUntil(this.#time + ms);
  }

  /** The first timer not cancelled (cancelled ones are dropped on the way). */
  #peek(): Pending | undefined {
    while (this.#heap.length > 0 && this.#heap[0].cancelled) this.#pop();
    return this.#heap[0];
  }

  #push(item: Pending): void {
    const heap = this.#heap;
    heap.push(item);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    for (let i = 0; ; ) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < heap.length && before(heap[left], heap[least])) least = left;
      if (right < heap.length && before(heap[right], heap[least])) least = right;
      if (least === i) return;
      [heap[i], heap[least]] = [heap[least], heap[i]];
      i = least;
    }
  }
}

function before(a: Pending, b: Pending): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}
