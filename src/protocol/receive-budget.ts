// The bound on bytes of received messages held in memory across many connections: messages
// being assembled, waiting behind inflation, or inflated and not yet delivered.
import { Budget } from "./budget.js";
import { OverloadedError } from "./errors.js";

/** A connection under a receive budget, as the budget sees it. */
export interface ReceivingMember {
  /** Fail with `error`: stop parsing and let go of every received message not yet delivered. */
  fail(error: OverloadedError): void;
}

/**
 * 128 MiB: eight messages of the default maximum size (16 MiB) may be arriving at once. With the
 * write budget (64 MiB) and inflation in progress (4 zlib jobs of at most 16 MiB each), a server
 * with the defaults holds at most ~256 MiB of message bytes, which a 1 GB Raspberry Pi can spare.
 */
export const DEFAULT_MAX_TOTAL_RECEIVED_BYTES = 128 * 1024 * 1024;

/**
 * Counts the bytes of received messages each member connection holds: the buffer of a message
 * being assembled (its capacity, not just the bytes in it), whole messages waiting to be
 * inflated or delivered in order, and inflated messages until they are delivered. A
 * WebSocketServer shares one among its connections; a client gets one only if it is given one.
 *
 * Members report before they allocate, then the budget is enforced: past the limit, the
 * members holding the most are failed with 1013 (Try Again Later) and let go of what they held,
 * so the growth that would cross the limit never lands on the process. Messages already
 * delivered are not affected. The close frame is sent as usual (the peer is sending, so it
 * likely reads too); the memory comes back at once, not when the transport goes.
 */
export class ReceiveBudget extends Budget<ReceivingMember> {
  /** `limit`: most bytes of received messages held in all. Default 128 MiB. */
  constructor(limit = DEFAULT_MAX_TOTAL_RECEIVED_BYTES) {
    super(limit, "maxTotalReceivedBytes");
  }

  protected evict(member: ReceivingMember, held: number, total: number): void {
    member.fail(new OverloadedError(
      "WS_ERR_RECEIVE_BUDGET",
      `${total} bytes of received messages were held on all connections, over ${this.option} (${this.limit}); this connection held the most (${held} bytes) and was closed with 1013 (Try Again Later). Raise ${this.option} if the server can spare the memory, or lower maxMessage`,
      `try again later: the server's memory for received messages is full, and this connection held the most (${held} bytes)`,
    ));
  }
}
