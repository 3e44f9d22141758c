// The bound on bytes waiting to be written across many connections: what a slow reader leaves
// behind is memory the whole process pays for.
import { Budget } from "../protocol/budget.js";
import { PolicyViolationError } from "../protocol/errors.js";

/** A connection under a write budget, as the budget sees it. */
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
 * Members report their whole backlog after a connection's writes of one turn of the event loop
 * are handed to its socket, then the budget is enforced: past the limit, the members with the
 * largest backlogs are failed with 1008 and dropped. They are dropped at once, without the
 * usual grace for the close frame: that frame would wait behind the largest backlog on the
 * server, from a peer that is not reading it, while the process needs the memory now.
 */
export class WriteBudget extends Budget<BudgetMember> {
  /** `limit`: most bytes waiting in all. Default 64 MiB. */
  constructor(limit = DEFAULT_MAX_TOTAL_BUFFERED_AMOUNT) {
    super(limit, "maxTotalBufferedAmount");
  }

  /** Backlogs also shrink between reports (sockets drain on their own): measure them again. */
  protected override remeasure(): void {
    for (const member of this.holders()) this.update(member, member.waitingBytes());
  }

  protected evict(member: BudgetMember, held: number, total: number): void {
    member.evict(new PolicyViolationError(
      "WS_ERR_WRITE_BUDGET",
      `${total} bytes were waiting to be written on all connections, over ${this.option} (${this.limit}); this connection held the largest backlog (${held} bytes): its peer reads too slowly`,
    ));
  }
}
