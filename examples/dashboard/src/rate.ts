/** Events per second over a sliding window, in one-second buckets (bounded memory at any rate). */
export class RateMeter {
  readonly #buckets: number[];
  readonly #seconds: number;
  #current = 0;

  constructor(window: number) {
    this.#seconds = Math.max(1, Math.round(window / 1000));
    this.#buckets = new Array<number>(this.#seconds).fill(0);
  }

  count(now: number): void {
    this.#advance(now);
    this.#buckets[this.#current % this.#seconds]!++;
  }

  perSecond(now: number): number {
    this.#advance(now);
    // The current second is partly over: count the full buckets before it.
    let sum = 0;
    for (let i = 1; i < this.#seconds; i++) sum += this.#buckets[(this.#current - i + this.#seconds) % this.#seconds]!;
    return sum / (this.#seconds - 1 || 1);
  }

  #advance(now: number): void {
    const second = Math.floor(now / 1000);
    if (this.#current === 0) this.#current = second;
    // Seconds with no event since the last call: clear their buckets (all of them after a long pause).
    const passed = Math.min(second - this.#current, this.#seconds);
    for (let i = 1; i <= passed; i++) this.#buckets[(this.#current + i) % this.#seconds] = 0;
    if (second > this.#current) this.#current = second;
  }
}
