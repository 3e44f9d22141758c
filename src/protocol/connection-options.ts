// What a Connection is configured with (options, limits) and what it reports to its transport
// and application (events).
import type { ParserLimits, Role } from "../core/index.js";
import type { PerMessageDeflate } from "../deflate/permessage-deflate.js";
import type { ReceiveBudget } from "./receive-budget.js";

export interface ConnectionLimits extends ParserLimits {
  /** Data messages per second the peer may send (burst: one second's worth); beyond it, close 1008. 0: no limit. Default 0. */
  maxMessagesPerSecond?: number;
  /** Ping and pong frames per second the peer may send (ping floods); beyond it, close 1008. Default 20. */
  maxControlFramesPerSecond?: number;
  /** Received messages waiting on decompression before reading pauses. Default 16. */
  maxQueuedMessages?: number;
}

export interface HeartbeatOptions {
  /** Send a ping after this many ms without hearing from the peer. */
  interval: number;
  /** Declare the peer dead when nothing arrives this many ms after the ping. Default: `interval`. */
  timeout?: number;
}

export interface ConnectionOptions extends ConnectionLimits {
  role: Role;
  /** The negotiated permessage-deflate codec, if any. */
  deflate?: PerMessageDeflate;
  /** Messages smaller than this are sent uncompressed even with deflate. Default 1024 (as ws). */
  compressThreshold?: number;
  /** Send messages larger than this as fragments of this size. Default 0: never fragment. */
  fragmentSize?: number;
  /** Answer pings with pongs automatically (RFC 6455 §5.5.2). Default true. */
  autoPong?: boolean;
  /** How long to wait for the peer's close frame (or, as a client, the server's TCP close). Default 30 s (as ws). */
  closeTimeout?: number;
  /**
   * After failing the connection (the peer broke the protocol or a limit: our close frame is
   * sent, nothing more from the peer is processed), drop the transport this many ms later
   * instead of waiting `closeTimeout` for a peer that has shown it does not play by the rules.
   * The grace lets the close frame reach a peer that still reads. Default 1 s.
   */
  failGraceTimeout?: number;
  heartbeat?: HeartbeatOptions;
  /** Close (1000, "idle timeout") after this many ms without a data message either way. Default 0: never. */
  idleTimeout?: number;
  /** Clock for rate limits and the idle timeout, in ms. Default `performance.now`. */
  now?: () => number;
  /**
   * A bound on bytes of received messages held in memory, shared with other connections (a
   * WebSocketServer makes one per server): the message being assembled, messages waiting to be
   * inflated or delivered, inflated ones until delivered. Past its limit the connections holding
   * the most fail with 1013. Default: none (each connection is still bound by its own limits).
   */
  receiveBudget?: ReceiveBudget;
}

export interface ConnectionEvents {
  /**
   * Bytes for the transport, in order. With `payload`, write it right after `bytes` (a frame's
   * header and its payload, uncopied: one system call if the transport can gather).
   */
  write(bytes: Uint8Array, payload?: Uint8Array): void;
  /** Close the transport gracefully (TCP FIN once written data is flushed). */
  end(): void;
  /** Drop the transport now (close timeout, dead peer). */
  destroy(): void;
  /** Stop (false) or resume (true) reading from the transport: backpressure on received messages. */
  setReading?(reading: boolean): void;
  /** Stop reading from the transport for good: the connection failed and what the peer sends is dropped unread. */
  stopReading?(): void;
  message(data: Uint8Array, isBinary: boolean): void;
  ping?(data: Uint8Array): void;
  pong?(data: Uint8Array): void;
  /** The peer broke the protocol or a limit; the close frame with `closeCode` is already on its way. */
  error?(error: Error & { closeCode?: number }): void;
  /** The transport is gone: the final event. */
  close?(code: number, reason: string, wasClean: boolean): void;
}

export interface SendOptions {
  binary?: boolean;
  /** Compress when permessage-deflate is on and the message reaches the threshold. Default true. */
  compress?: boolean;
  /** false: this is a fragment, the next send continues the message (fragments go uncompressed). Default true. */
  fin?: boolean;
}
