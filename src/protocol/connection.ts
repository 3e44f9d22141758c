// A sans-I/O WebSocket connection: bytes and calls in, bytes and events out. It owns the RFC
// 6455 state machine (§7 closing handshake), ping/pong, limits and message order around
// asynchronous permessage-deflate; the transport adapter owns the socket.
import {
  ErrorKind, FrameEncoder, FrameParser, Opcode, ProtocolError, unmaskedFrame, unmaskedHeader, type Core, type ParserHandlers,
} from "../core/index.js";
import { copyOut } from "../core/bytes.js";
import { closeBody, closeReasonOf } from "./close-frame.js";
import { ControlPayloadTooLongError, InvalidStateError, PolicyViolationError } from "./errors.js";
import { TokenBucket } from "./rate.js";
import { Sequencer } from "./sequencer.js";
import type { Compression, Liveness } from "./connection-state.js";
import type { ConnectionEvents, ConnectionOptions, SendOptions } from "./connection-options.js";

export const ReadyState = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;
export type ReadyState = (typeof ReadyState)[keyof typeof ReadyState];
const STATE_NAMES = ["CONNECTING", "OPEN", "CLOSING", "CLOSED"];

export type { ConnectionEvents, ConnectionLimits, ConnectionOptions, HeartbeatOptions, SendOptions } from "./connection-options.js";

const textEncoder = new TextEncoder();
const defaultNow = () => performance.now();
/**
 * A server's (unmasked) payloads from this size on are written as they are after a separate
 * header; smaller ones are copied behind the header, which is cheaper than a gathered write.
 */
const ZERO_COPY_FROM = 4096;

/**
 * After a failure, bytes the peer sends are dropped unparsed, and reading stops once this many
 * have come: enough for what a well-behaved peer had in flight plus its close frame and TCP
 * close (which then ends the connection at once), little for a flood to cost.
 */
const DISCARD_AFTER_FAILURE = 64 * 1024;

/**
 * What a received message waiting in the inbound queue costs besides its bytes: its place in
 * the queue (the promises and the closure that hold it, its Buffer view), ~700 bytes of heap
 * measured on Node 20. Without it a flood of tiny compressed messages in one read (9,000 fit in
 * 64 KiB) would look free.
 */
const QUEUED_MESSAGE_OVERHEAD = 768;

/**
 * Slack a queued message's buffer may have around it before the message is copied out: a
 * message parsed within one read is a view into a copy of the whole read (up to the core's
 * 64 KiB arena), which it would keep alive while it waits; smaller Buffers share Node's 8 KiB
 * pool slabs anyway.
 */
const QUEUED_VIEW_SLACK = 8 * 1024;

/**
 * Per-connection state is kept small (a server may hold thousands of idle connections): the
 * connection is its parser's handler object, and what only compression, rate limits or
 * timers need exists only when they are in use.
 */
export class Connection implements ParserHandlers {
  #state: ReadyState = ReadyState.OPEN;
  readonly #events: ConnectionEvents;
  readonly #core: Core;
  readonly #parser: FrameParser;
  readonly #encoder: FrameEncoder;
  readonly #options: ConnectionOptions;
  /** Only with permessage-deflate. */
  readonly #compression: Compression | undefined;
  readonly #messageRate: TokenBucket | undefined;
  #controlRate: TokenBucket | undefined;
  #closeSent = false;
  /** A message sent with `fin: false` is open: the next send continues it. */
  #continuing = false;
  #closeReceived: { code: number; reason: string } | undefined;
  /** The parser met the peer's close frame (it may still wait behind messages being inflated). */
  #closeParsed = false;
  /** The transport closed while a parsed close frame waited behind inflation: what is queued drains, then the close event. */
  #draining = false;
  #failure: { code: number; reason: string } | undefined;
  /** Bytes received and dropped since the failure. */
  #discarded = 0;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Only with a heartbeat or an idle timeout. */
  readonly #liveness: Liveness | undefined;
  /** Received bytes held, for the receive budget: the message the parser is assembling... */
  #assemblingBytes = 0;
  /** ...and messages waiting to be inflated or delivered in order (with their overhead), or inflated and not yet delivered. */
  #waitingBytes = 0;

  constructor(core: Core, options: ConnectionOptions, events: ConnectionEvents) {
    this.#core = core;
    this.#options = options;
    this.#events = events;
    const deflate = options.deflate;
    if (options.heartbeat || options.idleTimeout) {
      this.#liveness = { heartbeatTimer: undefined, awaitingPong: false, lastMessageAt: options.idleTimeout ? this.#now() : 0, idleTimer: undefined };
    }
    const messageRate = options.maxMessagesPerSecond ?? 0;
    if (messageRate > 0) this.#messageRate = new TokenBucket(messageRate, messageRate, options.now ?? defaultNow);
    this.#encoder = core.sharedEncoder(options.role === "client");
    if (deflate) {
      this.#compression = {
        deflate,
        inbound: new Sequencer((e) => this.fail(asCloseable(e)), () => this.#resumeReading()),
        outbound: new Sequencer((e) => this.fail(asCloseable(e))),
        queuedBytes: 0,
        readingPaused: false,
      };
    }
    // Only what the parser reads: a copy of all the options would be garbage for every connection.
    const { role, maxPayload, maxMessage, maxFragments } = options;
    this.#parser = new FrameParser(core, { role, maxPayload, maxMessage, maxFragments, perMessageDeflate: deflate !== undefined }, this);
    this.#armHeartbeat();
    this.#armIdleTimer(options.idleTimeout ?? 0);
  }

  get readyState(): ReadyState {
    return this.#state;
  }

  /** Bytes accepted by `send` and not yet handed to the transport (waiting on compression). */
  get queuedBytes(): number {
    return this.#compression?.queuedBytes ?? 0;
  }

  /** Bytes from the transport. */
  receive(chunk: Uint8Array): void {
    if (this.#failure) return this.#discard(chunk.length);
    if (this.#state === ReadyState.CLOSED) return;
    if (this.#liveness) {
      this.#liveness.awaitingPong = false;
      this.#armHeartbeat();
    }
    this.#parser.push(chunk);
  }

  send(data: Uint8Array | string, options: SendOptions = {}): void {
    this.#requireOpen("send");
    this.#touch();
    const binary = options.binary ?? typeof data !== "string";
    const bytes = typeof data === "string" ? textEncoder.encode(data) : data;
    const fin = options.fin ?? true;
    const fragment = !fin || this.#continuing;
    const opcode = this.#continuing ? Opcode.Continuation : binary ? Opcode.Binary : Opcode.Text;
    this.#continuing = !fin;
    const compression = this.#compression;
    if (fragment) {
      this.#afterOutbound(() => this.#writeMessage(opcode, bytes, false, fin));
    } else if (compression && options.compress !== false && bytes.length >= (this.#options.compressThreshold ?? 1024)) {
      compression.queuedBytes += bytes.length;
      compression.outbound.run(async () => {
        const compressed = await compression.deflate.compress(bytes);
        compression.queuedBytes -= bytes.length;
        this.#writeMessage(opcode, compressed, true);
      });
    } else if (compression) {
      compression.outbound.run(() => this.#writeMessage(opcode, bytes, false));
    } else {
      this.#writeMessage(opcode, bytes, false);
    }
  }

  ping(data: Uint8Array | string = new Uint8Array(0)): void {
    this.#requireOpen("ping");
    this.#sendControl(Opcode.Ping, data);
  }

  pong(data: Uint8Array | string = new Uint8Array(0)): void {
    this.#requireOpen("pong");
    this.#sendControl(Opcode.Pong, data);
  }

  /**
   * Starts (or answers) the closing handshake. Without a code the close frame has no body, and
   * the peer sees 1005. Codes: 1000, 1001, 1002, 1003, 1007-1014 or 3000-4999.
   */
  close(code?: number, reason = ""): void {
    const body = closeBody(this.#core, code, reason);
    if (this.#state === ReadyState.CLOSED || this.#closeSent || this.#draining) return;
    this.#state = ReadyState.CLOSING;
    this.#sendClose(body);
  }

  /**
   * The transport reached end-of-stream or closed: the final close event. A close frame already
   * parsed but waiting behind messages being inflated is honoured first: §7.1.5, "the WebSocket
   * Connection Close Code is ... the status code contained in the first Close control frame
   * received", and the messages before it are delivered, in order. The close timeout (or the
   * failure's grace) bounds that wait.
   */
  transportClosed(): void {
    if (this.#state === ReadyState.CLOSED || this.#draining) return;
    const inbound = this.#compression?.inbound;
    if (!this.#closeParsed || this.#failure || !inbound || inbound.pending === 0) return this.#closed();
    this.#draining = true;
    this.#state = ReadyState.CLOSING;
    this.#armCloseTimer();
    inbound.run(() => this.#closed());
  }

  /** The final close event. */
  #closed(): void {
    if (this.#state === ReadyState.CLOSED) return;
    this.#state = ReadyState.CLOSED;
    clearTimeout(this.#closeTimer);
    clearTimeout(this.#liveness?.heartbeatTimer);
    clearTimeout(this.#liveness?.idleTimer);
    this.#parser.destroy();
    this.#reportHeld(false);
    this.#compression?.deflate.close();
    const received = this.#closeReceived;
    // §7.1.5: with no close frame received, the close code is 1006.
    const { code, reason } = this.#failure ?? received ?? { code: 1006, reason: "" };
    const wasClean = this.#closeSent && received !== undefined && this.#failure === undefined;
    this.#events.close?.(code, reason, wasClean);
  }

  #requireOpen(what: string): void {
    if (this.#state !== ReadyState.OPEN) {
      throw new InvalidStateError(`cannot ${what}: the WebSocket is ${STATE_NAMES[this.#state]}`);
    }
  }

  /** Runs `task` once every message sent so far has gone to the transport (after its compression). */
  afterSent(task: () => void): void {
    this.#afterOutbound(task);
  }

  #writeMessage(opcode: number, payload: Uint8Array, compressed: boolean, fin = true): void {
    // §5.5.1: no data frames after our close frame. A message sent before close() is queued ahead
    // of it (it waited for compression); only a failure writes the close frame ahead of the queue.
    if (this.#failure) return;
    const fragmentSize = this.#options.fragmentSize ?? 0;
    if (this.#options.role === "client" || !fin || opcode === Opcode.Continuation || (fragmentSize > 0 && payload.length > fragmentSize)) {
      this.#events.write(this.#encoder.encode(opcode, payload, { rsv1: compressed, fragmentSize, fin }));
    } else if (payload.length < ZERO_COPY_FROM) {
      this.#events.write(unmaskedFrame(opcode, payload, compressed));
    } else {
      this.#events.write(unmaskedHeader(opcode, payload.length, compressed), payload);
    }
  }

  #sendControl(opcode: number, data: Uint8Array | string): void {
    const bytes = typeof data === "string" ? textEncoder.encode(data) : data;
    if (bytes.length > 125) throw new ControlPayloadTooLongError(`a ${opcode === Opcode.Ping ? "ping" : "pong"} carries at most 125 bytes, got ${bytes.length}`);
    this.#afterOutbound(() => {
      if (!this.#failure) this.#events.write(this.#encoder.encode(opcode, bytes));
    });
  }

  #sendClose(body: Uint8Array): void {
    this.#closeSent = true;
    this.#afterOutbound(() => {
      this.#events.write(this.#encoder.encode(Opcode.Close, body));
      if (this.#closeReceived || this.#failure) this.#handshakeDone();
    });
    this.#armCloseTimer();
  }

  /** Runs `task` after every outgoing message still being compressed. */
  #afterOutbound(task: () => void): void {
    const compression = this.#compression;
    if (compression) compression.outbound.run(task);
    else task();
  }

  /**
   * Runs `task` (delivering what arrived) after every earlier message still being inflated. A
   * task that throws (an application handler) fails the connection with 1011.
   */
  #afterInbound(task: () => void): void {
    const compression = this.#compression;
    if (compression) return compression.inbound.run(task);
    try {
      task();
    } catch (error) {
      this.fail(asCloseable(error));
    }
  }

  /** Drops the transport if the closing handshake (or the server's TCP close) takes too long. */
  #armCloseTimer(): void {
    this.#closeTimer ??= setTimeout(() => this.#timedOut(), this.#options.closeTimeout ?? 30_000);
  }

  /** After a failure the peer gets `failGraceTimeout`, not the closing handshake's `closeTimeout`. */
  #armGraceTimer(): void {
    clearTimeout(this.#closeTimer);
    this.#closeTimer = setTimeout(() => this.#timedOut(), this.#options.failGraceTimeout ?? 1000);
  }

  /** The close or grace timeout passed: drop the transport, or, when it is gone already, stop waiting for the inbound queue. */
  #timedOut(): void {
    if (this.#draining) this.#closed();
    else this.#events.destroy();
  }

  /**
   * Both close frames are exchanged (or we failed the connection). §7.1.1: "the server SHOULD
   * close the underlying TCP connection first"; a client waits for that, up to the close timeout.
   */
  #handshakeDone(): void {
    if (this.#options.role === "server" || this.#failure) this.#events.end();
  }

  /** @internal Parser handler: a complete data message. */
  onMessage(data: Uint8Array, isBinary: boolean, compressed: boolean): void {
    this.#touch();
    if (this.#messageRate && !this.#messageRate.take()) {
      this.fail(new PolicyViolationError("WS_ERR_MESSAGE_RATE", `more than ${this.#options.maxMessagesPerSecond} messages per second`));
      return;
    }
    const compression = this.#compression;
    if (!compression) {
      // No compression, so nothing can be ahead of this message: deliver it now.
      try {
        this.#deliver(data, isBinary);
      } catch (error) {
        this.fail(asCloseable(error));
      }
      return;
    }
    const inbound = compression.inbound;
    // Nothing is being inflated: an uncompressed message is delivered now.
    if (!compressed && inbound.pending === 0) return inbound.run(() => this.#deliver(data, isBinary));
    const queued = ownBytes(data);
    const cost = queued.length + QUEUED_MESSAGE_OVERHEAD;
    this.#holdReceived(cost);
    if (this.#failure) return this.#releaseReceived(cost); // the receive budget shed this connection
    if (compressed) {
      inbound.run(() => this.#inflateAndDeliver(queued, isBinary, cost));
    } else {
      inbound.run(() => {
        this.#releaseReceived(cost);
        this.#deliver(queued, isBinary);
      });
    }
    if (inbound.pending >= (this.#options.maxQueuedMessages ?? 16) && !compression.readingPaused) {
      compression.readingPaused = true;
      this.#events.setReading?.(false);
    }
  }

  /** @internal Parser handler. */
  onPing(data: Uint8Array): void {
    this.#onControl(Opcode.Ping, data);
  }

  /** @internal Parser handler. */
  onPong(data: Uint8Array): void {
    this.#onControl(Opcode.Pong, data);
  }

  /** @internal Parser handler: the peer's close frame. */
  onClose(code: number, reason: string): void {
    this.#closeParsed = true;
    this.#afterInbound(() => this.#onCloseFrame(code, reason));
  }

  /** @internal Parser handler: the peer broke the protocol or a limit. */
  onError(error: ProtocolError): void {
    this.fail(error);
  }

  /** @internal Parser handler: the parser is about to hold `bytes` for the message it assembles (0: none). */
  onHeldBytes(bytes: number): void {
    const grew = bytes > this.#assemblingBytes;
    this.#assemblingBytes = bytes;
    this.#reportHeld(grew);
  }

  /**
   * Inflates a message that waited its turn, then delivers it. It counts against the receive
   * budget as `queuedCost` until inflated, then as its inflated bytes until delivered.
   */
  async #inflateAndDeliver(data: Uint8Array, isBinary: boolean, queuedCost: number): Promise<void> {
    let inflated: Uint8Array;
    try {
      // Failed meanwhile: it will never be delivered, so it is not worth inflating.
      if (this.#failure || this.#state === ReadyState.CLOSED) return;
      inflated = await this.#compression!.deflate.decompress(data);
    } finally {
      this.#releaseReceived(queuedCost);
    }
    this.#holdReceived(inflated.length);
    try {
      // The core skips UTF-8 checks on compressed payload: check the inflated text here.
      if (!isBinary && !this.#core.isValidUtf8(inflated)) throw new ProtocolError(ErrorKind.TextInvalidUtf8, 1007);
      this.#deliver(inflated, isBinary);
    } finally {
      this.#releaseReceived(inflated.length);
    }
  }

  #deliver(data: Uint8Array, isBinary: boolean): void {
    if (this.#failure || this.#state === ReadyState.CLOSED) return;
    this.#events.message(data, isBinary);
  }

  #holdReceived(bytes: number): void {
    this.#waitingBytes += bytes;
    this.#reportHeld(true);
  }

  #releaseReceived(bytes: number): void {
    this.#waitingBytes -= bytes;
    this.#reportHeld(false);
  }

  /**
   * Tells the receive budget what this connection holds; when that grew, the budget may fail
   * the connections holding the most, this one included. A failed or closed connection holds
   * nothing for it: what it still has will never be delivered, and is let go as its inbound
   * queue unwinds (at once, or once the message being inflated is done).
   */
  #reportHeld(grew: boolean): void {
    const budget = this.#options.receiveBudget;
    if (!budget) return;
    const gone = this.#failure !== undefined || this.#state === ReadyState.CLOSED;
    budget.update(this, gone ? 0 : this.#assemblingBytes + this.#waitingBytes);
    if (grew) budget.enforce();
  }

  #resumeReading(): void {
    const compression = this.#compression;
    if (!compression?.readingPaused) return;
    compression.readingPaused = false;
    this.#events.setReading?.(true);
  }

  #onControl(opcode: number, data: Uint8Array): void {
    const limit = this.#options.maxControlFramesPerSecond ?? 20;
    this.#controlRate ??= new TokenBucket(limit, limit, this.#options.now ?? defaultNow);
    if (!this.#controlRate.take()) {
      this.fail(new PolicyViolationError("WS_ERR_CONTROL_RATE", `more than ${limit} pings and pongs per second`));
      return;
    }
    this.#afterInbound(() => {
      if (this.#failure) return;
      if (opcode === Opcode.Pong) {
        this.#events.pong?.(data);
        return;
      }
      // §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response
      // ... unless it already received a Close frame." with "identical Application data".
      if ((this.#options.autoPong ?? true) && this.#state === ReadyState.OPEN) this.#sendControl(Opcode.Pong, data);
      this.#events.ping?.(data);
    });
  }

  #onCloseFrame(code: number, reason: string): void {
    if (this.#failure) return; // It was queued behind a message whose inflation failed.
    this.#closeReceived = { code, reason };
    if (this.#draining) return; // The transport is gone: there is no one to answer.
    if (this.#closeSent) {
      this.#afterOutbound(() => this.#handshakeDone());
      return;
    }
    // §5.5.1: answer with a close frame, "typically echoing the status code it received".
    this.#state = ReadyState.CLOSING;
    this.#sendClose(code === 1005 ? new Uint8Array(0) : closeBody(this.#core, code, reason));
  }

  /**
   * §7.1.7 Fail the WebSocket Connection: send a close frame with the error's code (1011 without
   * one), stop processing what the peer sends, and drop the transport after `failGraceTimeout`.
   * The transport calls it too, for the limits it enforces (a peer too slow to read).
   */
  fail(error: Error & { closeCode?: number }): void {
    if (this.#failure || this.#state === ReadyState.CLOSED) return;
    // As ws does, the close event reports the code we failed with (1002, 1007, 1008, 1009...).
    const code = error.closeCode ?? 1011;
    this.#failure = { code, reason: error.message };
    // §7.1.7: "an endpoint MUST NOT continue to attempt to process data (including a responding
    // Close frame) from the remote endpoint". The parser goes before anything else can run, so
    // the rest of the chunk being parsed is dropped too (a ping flood's next thousand pings),
    // and with it the message it was assembling.
    this.#parser.destroy();
    this.#reportHeld(false);
    this.#events.error?.(error);
    if (this.#draining) return; // The transport is gone: the close event follows as the queue unwinds.
    if (!this.#closeSent) {
      // Straight to the transport, ahead of anything still queued behind compression.
      this.#state = ReadyState.CLOSING;
      this.#closeSent = true;
      this.#events.write(this.#encoder.encode(Opcode.Close, closeBody(this.#core, code, closeReasonOf(error))));
    }
    this.#events.end();
    this.#armGraceTimer();
  }

  /** What arrives after a failure is dropped unparsed; past a little, reading stops. */
  #discard(bytes: number): void {
    this.#discarded += bytes;
    if (this.#discarded > DISCARD_AFTER_FAILURE) this.#events.stopReading?.();
  }

  #now(): number {
    return (this.#options.now ?? defaultNow)();
  }

  /** A data message went either way: the connection is not idle. */
  #touch(): void {
    const liveness = this.#liveness;
    if (liveness?.idleTimer) liveness.lastMessageAt = this.#now();
  }

  /** Checks for idleness once per period instead of resetting a timer on every message. */
  #armIdleTimer(period: number, wait = period): void {
    const liveness = this.#liveness;
    if (period <= 0 || !liveness) return;
    liveness.idleTimer = setTimeout(() => {
      if (this.#state !== ReadyState.OPEN) return;
      const idle = this.#now() - liveness.lastMessageAt;
      if (idle >= period) this.close(1000, "idle timeout");
      else this.#armIdleTimer(period, period - idle);
    }, wait);
  }

  #armHeartbeat(): void {
    const heartbeat = this.#options.heartbeat;
    const liveness = this.#liveness;
    if (!heartbeat || !liveness || this.#state === ReadyState.CLOSED) return;
    clearTimeout(liveness.heartbeatTimer);
    liveness.heartbeatTimer = setTimeout(() => this.#heartbeatDue(liveness), liveness.awaitingPong ? heartbeat.timeout ?? heartbeat.interval : heartbeat.interval);
  }

  #heartbeatDue(liveness: Liveness): void {
    if (this.#state !== ReadyState.OPEN) return;
    if (liveness.awaitingPong) {
      // Half-open TCP: the peer is gone without a FIN. Nothing more can be said to it.
      this.#failure = { code: 1006, reason: "no answer to ping: the peer is unreachable" };
      this.#events.error?.(Object.assign(new Error(this.#failure.reason), { code: "WS_ERR_PEER_TIMEOUT" }));
      this.#events.destroy();
      return;
    }
    liveness.awaitingPong = true;
    this.#sendControl(Opcode.Ping, new Uint8Array(0));
    this.#armHeartbeat();
  }
}

/** A received message that is to wait in the inbound queue, keeping alive no more than its own bytes. */
function ownBytes(data: Uint8Array): Uint8Array {
  return data.buffer.byteLength - data.byteLength > QUEUED_VIEW_SLACK ? copyOut(data, 0, data.byteLength) : data;
}

function asCloseable(error: unknown): Error & { closeCode?: number } {
  return error instanceof Error ? error : new Error(String(error));
}
