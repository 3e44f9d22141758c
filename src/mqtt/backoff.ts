// Reconnect policy: exponential backoff with full jitter and a cap, so that a thousand gateways
// losing the same broker do not come back in lockstep. Small and injectable (tests pass `random`).

export interface ReconnectOptions {
  /** Base delay of the first retry, ms. Default 1000. */
  initialDelay?: number;
  /** Cap of the delay, ms. Default 30,000. */
  maxDelay?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Give up after this many failed attempts in a row (then the client ends). Default Infinity. */
  maxAttempts?: number;
  /** A connection that stayed up this long resets the attempt count, ms. Default 10,000. */
  resetAfter?: number;
  /** Source of randomness in [0, 1). Default Math.random. */
  random?: () => number;
}

export class Backoff {
  readonly initialDelay: number;
  readonly maxDelay: number;
  readonly factor: number;
  readonly maxAttempts: number;
  readonly resetAfter: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: ReconnectOptions = {}) {
    this.initialDelay = options.initialDelay ?? 1000;
    this.maxDelay = options.maxDelay ?? 30_000;
    this.factor = options.factor ?? 2;
    this.maxAttempts = options.maxAttempts ?? Infinity;
    this.resetAfter = options.resetAfter ?? 10_000;
    this.#random = options.random ?? Math.random;
  }

  /** Failed attempts since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  get exhausted(): boolean {
    return this.#attempt >= this.maxAttempts;
  }

  /** The delay before the next attempt: random(0, min(maxDelay, initialDelay·factor^n)); counts the attempt. */
  next(): number {
    const ceiling = Math.min(this.maxDelay, this.initialDelay * this.factor ** this.#attempt);
    this.#attempt++;
    return Math.floor(this.#random() * ceiling);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
