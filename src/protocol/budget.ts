// A bound on bytes held across many connections. A per-connection limit alone does not bound a
// process: 1,000 connections each within a 16 MiB limit could still pin 16 GB.

/**
 * Counts the bytes each member connection holds of one kind (waiting to be written, received
 * and not yet delivered...), shared by the connections of a server or by whoever passes it.
 *
 * Members report what they hold in all (`update`), never a change, so the total can't drift:
 * it is back to 0 once every member has reported 0. When it passes the limit (`enforce`), the
 * members holding the most are evicted until it is within the limit again: the connections
 * that hold the most pay, not whichever happened to grow last, and the others keep what they
 * hold. What evicting means, and what the evicted are told, is the subclass's.
 */
export abstract class Budget<Member> {
  readonly limit: number;
  /** The option that sets the limit, named in the errors. */
  protected readonly option: string;
  #used = 0;
  /** Each member's last report; members holding nothing are not kept. */
  readonly #held = new Map<Member, number>();

  protected constructor(limit: number, option: string) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`${option} must be a positive integer (bytes), got ${limit}`);
    this.limit = limit;
    this.option = option;
  }

  /** Bytes held by all members, as last reported. */
  get used(): number {
    return this.#used;
  }

  /** Members holding bytes. */
  get members(): number {
    return this.#held.size;
  }

  /** `member` now holds `bytes` in all (0 when it holds nothing or is gone). */
  update(member: Member, bytes: number): void {
    const before = this.#held.get(member) ?? 0;
    if (bytes === before) return;
    this.#used += bytes - before;
    if (bytes > 0) this.#held.set(member, bytes);
    else this.#held.delete(member);
  }

  /** Evicts the members holding the most until the total is within the limit. */
  enforce(): void {
    if (this.#used <= this.limit) return;
    this.remeasure();
    while (this.#used > this.limit) {
      const total = this.#used;
      const [largest, held] = largestHolder(this.#held);
      this.update(largest, 0);
      this.evict(largest, held, total);
    }
  }

  /** The members holding bytes, as last reported. */
  protected holders(): Member[] {
    return [...this.#held.keys()];
  }

  /** Before choosing whom to evict: members whose holdings change without a report update them here. */
  protected remeasure(): void {}

  /** Fails `member`, which held `held` of the `total` bytes over the limit: the budget needs them back now. */
  protected abstract evict(member: Member, held: number, total: number): void;
}

function largestHolder<Member>(held: Map<Member, number>): [Member, number] {
  let largest: [Member, number] | undefined;
  for (const entry of held) if (!largest || entry[1] > largest[1]) largest = entry;
  return largest!;
}
