// A bound on the bytes waiting to be written across many connections: what a slow reader leaves
// behind is memory the whole process pays for, and 1,000 connections each within a 16 MiB
// per-connection limit could still pin 16 GB.
import { PolicyViolationError } from "../protocol/errors.js";

/** A connection under a budget, as the budget sees it. */
export interface BudgetMember {
  /** Bytes it has waiting to be written now (0 once its transport is gone). */
  waitingBytes(): number;
  /** Fail with `error` and drop the transport at once: the budget needs its bytes back now. */
  evict(error: PolicyViolationError): void;
}

/** 64 MiB: four messages of the default maximum size, or 1,000 connections 64 KiB behind each. */
export const DEFAULT_MAX_TOTAL_BUFFERED_AMOUNT = 64 * 1024 * 1024;

/**
 * Counts the bytes waiting to be written on every member connection (a WebSocketServer shares
 * one among its connections; several servers or clients may share one too).
 *
 * Members report their whole backlog (`update`), never a change, so the total can't drift: it
 * is back to 0 once every member has drained or gone. When it passes the limit (`enforce`,
 * after a connection's writes of one turn of the event loop are handed to its socket), the
 * members with the largest backlogs are failed with 1008 and dropped until it is within the
 * limit again. The connections furthest behind pay, not whichever happened to write last, and
 * what the others were asked to send is kept. They are dropped at once, without the usual grace
 * for the close frame: that frame would wait behind the largest backlog on the server, from a
 * peer that is not reading it, while the process needs the memory now.
 */
export class WriteBudget {
  readonly limit: number;
  #used = 0;
  /** Each member's reported backlog; members with none are not kept. */
  readonly #backlogs = new Map<BudgetMember, number>();

  /** `limit`: most bytes waiting in all. Default 64 MiB. */
  constructor(limit = DEFAULT_MAX_TOTAL_BUFFERED_AMOUNT) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`maxTotalBufferedAmount must be a positive integer (bytes), got ${limit}`);
    this.limit = limit;
  }

  /** Bytes waiting to be written on all members, as last reported. */
  get used(): number {
    return this.#used;
  }

  /** Members with bytes waiting. */
  get members(): number {
    return this.#backlogs.size;
  }

  /** `member` now has `bytes` waiting in all (0 when it drained or closed). */
  update(member: BudgetMember, bytes: number): void {
    const before = this.#backlogs.get(member) ?? 0;
    if (bytes === before) return;
    this.#used += bytes - before;
    if (bytes > 0) this.#backlogs.set(member, bytes);
    else this.#backlogs.delete(member);
  }

  /** Drops the members with the largest backlogs until the total is within the limit. */
  enforce(): void {
    if (this.#used <= this.limit) return;
    // Backlogs also shrink between reports (sockets drain on their own): measure them again.
    for (const member of [...this.#backlogs.keys()]) this.update(member, member.waitingBytes());
    while (this.#used > this.limit) {
      const [largest, bytes] = largestBacklog(this.#backlogs);
      this.update(largest, 0);
      largest.evict(new PolicyViolationError(
        "WS_ERR_WRITE_BUDGET",
        `${this.#used + bytes} bytes were waiting to be written on all connections, over maxTotalBufferedAmount (${this.limit}); this connection held the largest backlog (${bytes} bytes): its peer reads too slowly`,
      ));
    }
  }
}

function largestBacklog(backlogs: Map<BudgetMember, number>): [BudgetMember, number] {
  let largest: [BudgetMember, number] | undefined;
  for (const entry of backlogs) if (!largest || entry[1] > largest[1]) largest = entry;
  return largest!;
}
