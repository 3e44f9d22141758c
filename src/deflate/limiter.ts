/**
 * Runs at most `concurrency` zlib jobs at once (zlib work runs on libuv's small thread pool,
 * and each job holds its window in memory). Waiting jobs queue here; the queue is bounded by
 * the connections, because each connection keeps at most one inflate and one deflate job in
 * flight (messages are processed in order).
 */
export class Limiter {
  readonly #concurrency: number;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
    this.#concurrency = concurrency;
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#concurrency) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running++;
    try {
      return await job();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }

  get pending(): number {
    return this.#waiting.length;
  }
}
