/**
 * Runs at most `concurrency` zlib jobs at once (zlib work runs on libuv's small thread pool,
 * and each job holds its window in memory). Waiting jobs queue here in arrival order; the
 * queue is bounded by the connections, because each connection keeps at most one inflate and
 * one deflate job in flight (messages are processed in order). A long message runs as several
 * jobs, one per turn, each queueing behind those already waiting: the slots go round.
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
    if (this.#running < this.#concurrency) this.#running++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await job();
    } finally {
      this.#release();
    }
  }

  get pending(): number {
    return this.#waiting.length;
  }

  /**
   * Hands the slot straight to the first job waiting, so that a job arriving before that one
   * has resumed can't take it out of turn (and the count never exceeds the concurrency).
   */
  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#running--;
  }
}
