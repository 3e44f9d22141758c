// The parts of a Connection's state that exist only when in use (a server may hold thousands
// of idle connections, each without them).
import type { PerMessageDeflate } from "../deflate/permessage-deflate.js";
import type { Sequencer } from "./sequencer.js";

/** The timers of a connection with a heartbeat or an idle timeout. */
export interface Liveness {
  heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
  awaitingPong: boolean;
  /** When a data message last went either way (with an idle timeout). */
  lastMessageAt: number;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
}

/** What a connection with permessage-deflate needs besides the codec's own state. */
export interface Compression {
  readonly deflate: PerMessageDeflate;
  /** Keep messages in order around asynchronous (de)compression. */
  readonly inbound: Sequencer;
  readonly outbound: Sequencer;
  /** Bytes accepted by `send` and waiting on compression; reading paused as too many received messages wait on inflation. */
  queuedBytes: number;
  readingPaused: boolean;
}
