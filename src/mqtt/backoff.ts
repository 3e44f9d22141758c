// Reconnect policy: exponential backoff with full jitter and a cap, so that a thousand gateways
// losing the same broker do not come back in lockstep. For the first minute of an outage the cap
// is low (1.5 s), so that a client is back within ~2 s of a broker that returns (a restart, a
// deploy); the jitter still spreads a fleet's connects over that interval. A longer outage backs
// off to maxDelay. Small and injectable (tests pass `random` and `now`).

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
  /** For this long after the first failed attempt of an outage, delays stay below `fastMaxDelay`, ms. Default 60,000. */
  fastWindow?: number;
  /** The cap of the delay within `fastWindow`, ms. Default 1,500. */
  fastMaxDelay?: number;
  /** Source of randomness in [0, 1). Default Math.random. */
  random?: () => number;
  /** Clock, ms. Default Date.now. */
  now?: () => number;
}

export class Backoff {
  readonly initialDelay: number;
  readonly maxDelay: number;
  readonly factor: number;
  readonly maxAttempts: number;
  readonly resetAfter: number;
  readonly fastWindow: number;
  readonly fastMaxDelay: number;
  readonly #random: () => number;
  readonly #now: () => number;
  #attempt = 0;
  /** When the first attempt since the last reset was counted (the outage began). */
  #outageStart = 0;

  constructor(options: ReconnectOptions = {}) {
    this.initialDelay = options.initialDelay ?? 1000;
    this.maxDelay = options.maxDelay ?? 30_000;
    this.factor = options.factor ?? 2;
    this.maxAttempts = options.maxAttempts ?? Infinity;
    this.resetAfter = options.resetAfter ?? 10_000;
    this.fastWindow = options.fastWindow ?? 60_000;
    this.fastMaxDelay = options.fastMaxDelay ?? 1_500;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
  }

  /** Failed attempts since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  get exhausted(): boolean {
    return this.#attempt >= this.maxAttempts;
  }

  /**
   * The delay before the next attempt: random(0, min(maxDelay, initialDelay·factor^n)), and
   * within `fastWindow` of the outage's start no more than `fastMaxDelay`; counts the attempt.
   */
  next(): number {
    const now = this.#now();
    if (this.#attempt === 0) this.#outageStart = now;
    let ceiling = Math.min(this.maxDelay, this.initialDelay * this.factor ** this.#attempt);
    if (now - this.#outageStart < this.fastWindow) ceiling = Math.min(ceiling, this.fastMaxDelay);
    this.#attempt++;
    return Math.floor(this.#random() * ceiling);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
