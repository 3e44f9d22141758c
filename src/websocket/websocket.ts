// The user-facing WebSocket, shaped like ws's (EventEmitter with `message(data, isBinary)`)
// and the WHATWG one (`onmessage`, `addEventListener`, MessageEvent with string data for text).
// The same class serves client connections (see client.ts) and server-side ones.
import { EventEmitter } from "node:events";
import type http from "node:http";
import type { Socket } from "node:net";
import type { Core } from "../core/index.js";
import { ReadyState, type ConnectionLimits, type HeartbeatOptions } from "../protocol/connection.js";
import { InvalidStateError } from "../protocol/errors.js";
import { SocketConnection, type SocketConnectionEvents, type SocketConnectionOptions } from "../transport/node-socket.js";
import type { ReceiveBudget } from "../protocol/receive-budget.js";
import type { WriteBudget } from "../transport/write-budget.js";
import { startHandshake, type ClientOptions } from "../client/connect.js";
import {
  CloseEvent, ErrorEvent, MessageEvent, WsEvent, addEventListener, getOnProperty, removeEventListener, setOnProperty,
  type WsEventHandler, type WsEventListener, type WsEventType,
} from "./events.js";
import {
  BlobQueue, controlArguments, handled, rethrow, toPayload, type ControlData, type SendData, type SendOptions, type WriteCallback,
} from "./send-data.js";

export type { ControlData, SendData, SendOptions, WriteCallback } from "./send-data.js";

/** How binary messages are given: Buffer, ArrayBuffer, Blob, or (as `ws`) an array of Buffers. */
export type BinaryType = "nodebuffer" | "arraybuffer" | "blob" | "fragments";

/** Options shared by client and server connections. */
export interface ConnectionSettings extends ConnectionLimits {
  /** Send messages larger than this as fragments of this size. Default 0: never. */
  fragmentSize?: number;
  /** Messages below this many bytes go uncompressed even with permessage-deflate. Default 1024. */
  compressThreshold?: number;
  /** Answer pings automatically. Default true. */
  autoPong?: boolean;
  /** Wait this long for the closing handshake before dropping the socket. Default 30 s. */
  closeTimeout?: number;
  /**
   * After failing the connection (a protocol error or a broken limit: the close frame is sent,
   * nothing more from the peer is parsed or delivered, and reading stops), drop the socket this
   * long after unless the peer closes first. Default 1 s.
   */
  failGraceTimeout?: number;
  /** Ping after `interval` ms of silence; drop the peer when nothing comes back within `timeout`. */
  heartbeat?: HeartbeatOptions;
  /** Close (1000, "idle timeout") after this many ms without a message either way. Default: never. */
  idleTimeout?: number;
  /**
   * Most bytes waiting to be written before the peer counts as too slow (1008), checked on every
   * write; one larger message may go alone. Default 16 MiB.
   */
  maxBufferedAmount?: number;
  /** Fail (1008) a peer that took none of the bytes waiting for it in this many ms. 0: never. Default 30 s. */
  writeStallTimeout?: number;
  /**
   * A bound on bytes waiting to be written shared by connections: past its limit the largest
   * backlogs are dropped (1008). A WebSocketServer makes one per server (`maxTotalBufferedAmount`);
   * pass your own to share one among servers or clients, or to read its `used` counter.
   */
  writeBudget?: WriteBudget;
  /**
   * A bound on bytes of received messages held in memory (being assembled, waiting to be
   * inflated or delivered) shared by connections: past its limit the connections holding the
   * most are failed with 1013 (Try Again Later). A WebSocketServer makes one per server
   * (`maxTotalReceivedBytes`); a client has none unless given one. Pass your own to share one
   * among servers or clients, or to read its `used` counter.
   */
  receiveBudget?: ReceiveBudget;
}

const textDecoder = new TextDecoder();

interface AttachSetup {
  url?: string;
  protocol?: string;
  extensions?: string;
  /** The connection's role, limits and codec; may be shared by many connections (never copied). */
  options: SocketConnectionOptions;
}

interface PendingPing {
  payload: string;
  sentAt: number;
  resolve(ms: number): void;
  reject(error: Error): void;
}

/** The EventEmitter events, with ws's argument lists. */
export interface WebSocketEvents {
  open: [];
  /**
   * A Buffer, unless `binaryType` was changed: then a binary message comes as that type says
   * (ArrayBuffer, Blob or Buffer[]), as in `ws`. Typed for the default, which most code keeps.
   */
  message: [data: Buffer, isBinary: boolean];
  close: [code: number, reason: Buffer, wasClean: boolean];
  error: [error: Error];
  ping: [data: Buffer];
  pong: [data: Buffer];
  /** A client's handshake got its 101, before it is checked. */
  upgrade: [response: http.IncomingMessage];
  /**
   * A client's handshake got another answer. With a listener the request and response are the
   * application's to read and end (or to `close()`/`terminate()` the WebSocket); without one it fails.
   */
  "unexpected-response": [request: http.ClientRequest, response: http.IncomingMessage];
  /** `followRedirects`: the request to the next URL is made. With a listener, no credentials are stripped from it. */
  redirect: [url: string, request: http.ClientRequest];
}

export class WebSocket extends EventEmitter<WebSocketEvents> {
  static readonly CONNECTING = ReadyState.CONNECTING;
  static readonly OPEN = ReadyState.OPEN;
  static readonly CLOSING = ReadyState.CLOSING;
  static readonly CLOSED = ReadyState.CLOSED;
  // On the prototype (defined below the class), as ws and browsers have them: not per instance.
  declare readonly CONNECTING: typeof ReadyState.CONNECTING;
  declare readonly OPEN: typeof ReadyState.OPEN;
  declare readonly CLOSING: typeof ReadyState.CLOSING;
  declare readonly CLOSED: typeof ReadyState.CLOSED;

  #binaryType: BinaryType = "nodebuffer";
  #url: string;
  #protocol = "";
  #extensions = "";
  #transport: SocketConnection | undefined;
  #state: ReadyState = ReadyState.CONNECTING;
  #pings: PendingPing[] | undefined;
  /** Bytes given to send() once CLOSING or CLOSED: never sent, counted in bufferedAmount as `ws` does. */
  #unsent = 0;
  /** Sends waiting behind a Blob being read, so that messages keep their order. */
  #blobs: BlobQueue | undefined;
  /** close() was called while Blobs were being read: it closes once they are sent. */
  #closeAfterBlobs = false;
  /** terminate() dropped the socket: CLOSING until its 'close', as in ws. */
  #terminated = false;
  /** Callbacks of sends still being compressed (ws calls them with an error if the socket closes first); one entry per send. */
  #compressing: Set<{ callback: WriteCallback }> | undefined;
  /** A client's handshake in progress: destroys its request and socket. Dropped once it ends. */
  #abandonHandshake: (() => void) | undefined;
  /** Redirects the client's handshake followed, as ws's `_redirects`. */
  #redirects = 0;

  /**
   * Opens a client connection to a ws:// or wss:// URL. (A WebSocketServer makes its
   * server-side instances with `null`.)
   */
  constructor(address: string | URL | null, protocols?: string | string[] | ClientOptions, options: ClientOptions = {}) {
    super();
    this.#url = address === null ? "" : String(address);
    if (address === null) return;
    // As `ws`: new WebSocket(url, options) as well as (url, protocols, options).
    if (protocols !== undefined && protocols !== null && typeof protocols === "object" && !Array.isArray(protocols)) {
      this.#abandonHandshake = startHandshake(this, address, undefined, protocols as ClientOptions);
    } else {
      this.#abandonHandshake = startHandshake(this, address, protocols as string | string[] | undefined, options);
    }
  }

  /** @internal A client's handshake goes to `url` (normalized, as `ws` reports it; after a redirect, the new one). */
  connectsTo(url: string): void {
    this.#url = url;
  }

  /** @internal A client's handshake got a redirect to follow: returns how many so far, this one included. */
  countRedirect(): number {
    return ++this.#redirects;
  }

  /** Redirects a client's handshake followed (`followRedirects`), counting one refused for `maxRedirects`; ws keeps it private as `_redirects`. */
  get redirects(): number {
    return this.#redirects;
  }

  /** How binary messages are given (see BinaryType). Other values are ignored, as by ws and browsers. */
  get binaryType(): BinaryType {
    return this.#binaryType;
  }
  set binaryType(type: BinaryType) {
    if (BINARY_TYPES.includes(type)) this.#binaryType = type;
  }

  get url(): string {
    return this.#url;
  }
  /** The subprotocol the server selected, or "". */
  get protocol(): string {
    return this.#protocol;
  }
  /** The negotiated extensions, as a header value. */
  get extensions(): string {
    return this.#extensions;
  }
  get readyState(): ReadyState {
    if (this.#state === ReadyState.CLOSED) return ReadyState.CLOSED;
    const state = this.#transport?.connection.readyState ?? this.#state;
    // As in ws: CLOSED from the 'close' event on; CLOSING once terminate() or close() (waiting
    // for Blobs to be sent) was called.
    if (state === ReadyState.CLOSED) return ReadyState.CLOSING;
    return state === ReadyState.OPEN && (this.#closeAfterBlobs || this.#terminated) ? ReadyState.CLOSING : state;
  }
  /** Bytes accepted by `send` and not yet written to the network. */
  get bufferedAmount(): number {
    return (this.#transport?.bufferedAmount ?? 0) + this.#unsent;
  }
  /** The socket, once open (for remote address, TLS details). */
  get socket(): Socket | undefined {
    return this.#transport?.socket;
  }

  /**
   * @internal Takes over an upgraded socket: from here on the connection is OPEN. `head` (bytes
   * that came with the end of the handshake) is parsed after `ready` ran, so that a server's
   * 'connection' listeners are in place before the first message.
   */
  attach(core: Core, socket: Socket, head: Uint8Array, setup: AttachSetup, ready?: () => void): void {
    if (setup.url !== undefined) this.#url = setup.url;
    this.#protocol = setup.protocol ?? "";
    this.#extensions = setup.extensions ?? "";
    this.#state = ReadyState.OPEN;
    this.#abandonHandshake = undefined;
    this.#transport = new SocketConnection(core, socket, setup.options, new WebSocket.#Sink(this));
    if (setup.options.role === "client") this.emit("open");
    ready?.();
    if (head.length > 0) this.#transport.connection.receive(head);
  }

  /**
   * @internal The client handshake failed, or was given up by `close()`: whatever is left of it
   * stops, and the WebSocket reports `error` (while CLOSING, as ws) and ends as CLOSED with 1006.
   */
  failHandshake(error: Error): void {
    if (this.#transport || this.#state === ReadyState.CLOSED) return;
    this.#state = ReadyState.CLOSING;
    this.#abandonHandshake?.();
    this.#abandonHandshake = undefined;
    this.#emitError(error);
    this.#onClose(1006, "", false);
  }

  /**
   * `close()` or `terminate()` while CONNECTING, as ws does: CLOSING at once, the handshake's
   * request and socket destroyed now (the server sees the connection go, a late 101 can't
   * open), then 'error' and 'close' (1006) on the next tick, to listeners added after the call too.
   */
  #closeBeforeOpen(): void {
    this.#state = ReadyState.CLOSING;
    this.#abandonHandshake?.();
    process.nextTick(failClosedBeforeOpen, this);
  }

  /**
   * Sends a message, as `ws` does: a string (or a number) as text, bytes, a Blob (with its bytes,
   * in order with what is sent after it) or nothing (an empty binary message) as binary. Throws
   * while CONNECTING; once CLOSING or CLOSED the data is not sent and `callback` gets the error
   * (as `ws`, the bytes count in `bufferedAmount`). `callback` runs once the data is written out.
   * As with ws, a server's messages of 4 KiB or more are written without a copy: don't change
   * the bytes until `bufferedAmount` says they are out.
   */
  send(data: SendData, options?: SendOptions | WriteCallback, callback?: WriteCallback): void {
    if (typeof options === "function") [options, callback] = [{}, options];
    const transport = this.#sendingTransport(data, callback);
    if (!transport) return;
    if (data instanceof Blob || this.#blobs) {
      (this.#blobs ??= new BlobQueue(this)).push(data, options ?? {}, callback);
      return;
    }
    this.#sendNow(transport, toPayload(data as ControlData), options ?? {}, callback);
  }

  /**
   * @internal Sends what waited behind a Blob being read, unless the WebSocket closed meanwhile;
   * if its socket was dropped (`terminate()`), the callback hears so in ws's words.
   */
  sendQueued(data: string | Uint8Array, options: SendOptions, callback?: WriteCallback): void {
    const transport = this.#transport;
    if (transport?.socket.destroyed) this.#afterClose(data, callback, new InvalidStateError("The socket was closed while the blob was being read"));
    else this.#sendNow(transport, data, options, callback);
  }

  #sendNow(transport: SocketConnection | undefined, data: string | Uint8Array, options: SendOptions, callback?: WriteCallback): void {
    if (!transport || transport.connection.readyState !== ReadyState.OPEN) {
      this.#afterClose(data, callback);
      return;
    }
    transport.connection.send(data, { binary: options.binary ?? typeof data !== "string", compress: options.compress, fin: options.fin });
    if (callback) this.#whenWritten(transport, callback);
  }

  /**
   * @internal A Blob given to send() could not be read (its file changed): as ws, the callback
   * and 'error' hear it, and the connection is dropped, since what follows it can't keep its order.
   */
  blobUnreadable(error: Error, callback: WriteCallback | undefined): void {
    callback?.(error);
    this.#emitError(error);
    this.terminate();
  }

  /** @internal The Blobs are all sent: sends go straight out again. */
  blobsSent(): void {
    this.#blobs = undefined;
  }

  /**
   * Sends a ping, with `ws`'s arguments (`data`, `mask` (ignored), `callback` when written out).
   * The promise resolves with the round-trip time in ms when a pong with the same data arrives,
   * and rejects if the connection closes first; ignoring it is safe (it never goes unhandled).
   */
  ping(data?: ControlData | WriteCallback, mask?: boolean | WriteCallback, callback?: WriteCallback): Promise<number> {
    [data, callback] = controlArguments(data, mask, callback);
    const transport = this.#sendingTransport(data, callback);
    if (!transport) return handled(Promise.reject(this.#notOpenError()));
    const bytes = toPayload(data);
    // Sent first: a ping that can't be sent (over 125 bytes) throws here, leaving no promise behind.
    transport.connection.ping(bytes);
    if (callback) this.#whenWritten(transport, callback);
    // The pong is matched on its exact bytes (a string's UTF-8, not its UTF-16 code units).
    const payload = Buffer.from(bytes).toString("latin1");
    return handled(new Promise<number>((resolve, reject) => (this.#pings ??= []).push({ payload, sentAt: performance.now(), resolve, reject })));
  }

  /** Stops reading from the socket (as ws's `pause()`): messages, pings and close frames wait. */
  pause(): void {
    if (this.readyState !== ReadyState.CLOSED) this.#transport?.holdReading(true);
  }

  /** Reads again after `pause()`. */
  resume(): void {
    if (this.readyState !== ReadyState.CLOSED) this.#transport?.holdReading(false);
  }

  /** `pause()` holds reading. */
  get isPaused(): boolean {
    return this.#transport?.readingHeld ?? false;
  }

  /** Sends a pong, with `ws`'s arguments (`data`, `mask` (ignored), `callback` when written out). */
  pong(data?: ControlData | WriteCallback, mask?: boolean | WriteCallback, callback?: WriteCallback): void {
    [data, callback] = controlArguments(data, mask, callback);
    const transport = this.#sendingTransport(data, callback);
    if (!transport) return;
    transport.connection.pong(toPayload(data));
    if (callback) this.#whenWritten(transport, callback);
  }

  /** Starts the closing handshake (1000-1003, 1007-1014 or 3000-4999; none: the peer sees 1005). */
  close(code?: number, reason?: string): void {
    const transport = this.#transport;
    if (!transport) {
      if (this.#state === ReadyState.CONNECTING) this.#closeBeforeOpen();
    } else if (this.#blobs && !this.#closeAfterBlobs) {
      // The Blobs sent before close() go out before the close frame, as in ws.
      this.#closeAfterBlobs = true;
      this.#blobs.then(() => transport.connection.close(code, reason));
    } else {
      transport.connection.close(code, reason);
    }
  }

  /** Drops the connection at once, without a closing handshake (close code 1006). */
  terminate(): void {
    if (this.#transport) {
      this.#terminated = true;
      this.#transport.socket.destroy();
    } else if (this.#state === ReadyState.CONNECTING) this.#closeBeforeOpen();
  }

  // WHATWG surface.
  addEventListener<K extends WsEventType>(type: K, listener: WsEventListener<K>, options?: { once?: boolean }): void {
    addEventListener(this, this.#eventFactory(), type, listener, options);
  }
  removeEventListener<K extends WsEventType>(type: K, listener: WsEventListener<K>): void {
    removeEventListener(this, type, listener);
  }
  get onopen(): WsEventHandler<"open"> | null { return getOnProperty(this, "open"); }
  set onopen(handler: WsEventHandler<"open"> | null) { setOnProperty(this, this.#eventFactory(), "open", handler); }
  get onmessage(): WsEventHandler<"message"> | null { return getOnProperty(this, "message"); }
  set onmessage(handler: WsEventHandler<"message"> | null) { setOnProperty(this, this.#eventFactory(), "message", handler); }
  get onclose(): WsEventHandler<"close"> | null { return getOnProperty(this, "close"); }
  set onclose(handler: WsEventHandler<"close"> | null) { setOnProperty(this, this.#eventFactory(), "close", handler); }
  get onerror(): WsEventHandler<"error"> | null { return getOnProperty(this, "error"); }
  set onerror(handler: WsEventHandler<"error"> | null) { setOnProperty(this, this.#eventFactory(), "error", handler); }

  #eventFactory(): (type: WsEventType, args: unknown[]) => WsEvent {
    return (type, args) => this.#makeEvent(type, args);
  }

  #makeEvent(type: WsEventType, args: unknown[]): WsEvent {
    switch (type) {
      case "message": {
        const [data, isBinary] = args as [Buffer | ArrayBuffer | Blob | Buffer[], boolean];
        return new MessageEvent(isBinary ? data : textDecoder.decode(data as Buffer), this);
      }
      case "close": {
        const [code, reason, wasClean] = args as [number, Buffer, boolean];
        return new CloseEvent(code, reason.toString(), wasClean, this);
      }
      case "error":
        return new ErrorEvent(args[0] as Error, this);
      default:
        return new WsEvent(type, this);
    }
  }

  /**
   * A binary message as `binaryType` asks. The message arrives whole, so "fragments" gives it as
   * one Buffer in an array (`ws` gives each frame's).
   */
  #binary(data: Buffer): Buffer | ArrayBuffer | Blob | Buffer[] {
    if (this.#binaryType === "nodebuffer") return data;
    if (this.#binaryType === "fragments") return [data];
    const copy = data.buffer.slice(data.byteOffset, data.byteOffset + data.length) as ArrayBuffer;
    return this.binaryType === "arraybuffer" ? copy : new Blob([copy]);
  }

  /**
   * The transport to send on while OPEN. Throws while CONNECTING; once CLOSING or CLOSED reports
   * to `callback` instead (as `ws`) and returns undefined.
   */
  #sendingTransport(data: unknown, callback: WriteCallback | undefined): SocketConnection | undefined {
    const state = this.readyState;
    if (state === ReadyState.CONNECTING) throw this.#notOpenError();
    if (state === ReadyState.OPEN) return this.#transport;
    this.#afterClose(data, callback);
    return undefined;
  }

  /** Data given once CLOSING or CLOSED: counted in bufferedAmount (as `ws`), the error to the callback. */
  #afterClose(data: unknown, callback: WriteCallback | undefined, error?: Error): void {
    if (data !== undefined && data !== null && typeof data !== "function") this.#unsent += data instanceof Blob ? data.size : Buffer.byteLength(toPayload(data as ControlData));
    if (callback) process.nextTick(callback, error ?? this.#notOpenError());
  }

  #notOpenError(): InvalidStateError {
    const state = this.readyState;
    return new InvalidStateError(`WebSocket is not open: readyState ${state} (${STATE_NAMES[state]})`);
  }

  /** Calls `callback` once what was sent so far is written to the socket (or with why it was not). */
  #whenWritten(transport: SocketConnection, callback: WriteCallback): void {
    const compressing = (this.#compressing ??= new Set());
    const pending = { callback };
    compressing.add(pending);
    transport.connection.afterSent(() => {
      if (compressing.delete(pending)) transport.afterWrites(callback);
    });
  }

  #onPong(data: Uint8Array): void {
    const payload = Buffer.from(data).toString("latin1");
    const index = this.#pings?.findIndex((p) => p.payload === payload) ?? -1;
    if (index >= 0) {
      const [ping] = this.#pings!.splice(index, 1);
      ping!.resolve(performance.now() - ping!.sentAt);
    }
    emitUncaught(this, "pong", toNodeBuffer(data));
  }

  #emitError(error: Error): void {
    // Like ws: an 'error' without listeners must not crash the process when the cause is the peer's.
    if (this.listenerCount("error") > 0) this.emit("error", error);
  }

  #onClose(code: number, reason: string, wasClean: boolean): void {
    // Before 'close' (still CLOSING), as in ws: the sends that never got past compression.
    const compressing = [...(this.#compressing ?? [])];
    this.#compressing?.clear();
    for (const { callback } of compressing) callback(new InvalidStateError("The socket was closed while data was being compressed"));
    this.#state = ReadyState.CLOSED;
    for (const ping of this.#pings?.splice(0) ?? []) ping.reject(new InvalidStateError(`the WebSocket closed (${code}) before the pong arrived`));
    this.emit("close", code, Buffer.from(reason), wasClean);
  }

  /** The connection's events, turned into this WebSocket's (one small object per connection, no closures). */
  static #Sink = class implements SocketConnectionEvents {
    readonly #ws: WebSocket;
    constructor(ws: WebSocket) {
      this.#ws = ws;
    }
    message(data: Uint8Array, isBinary: boolean): void {
      const buffer = toNodeBuffer(data);
      emitUncaught(this.#ws, "message", (isBinary ? this.#ws.#binary(buffer) : buffer) as Buffer, isBinary);
    }
    ping(data: Uint8Array): void {
      emitUncaught(this.#ws, "ping", toNodeBuffer(data));
    }
    pong(data: Uint8Array): void {
      this.#ws.#onPong(data);
    }
    error(error: Error): void {
      this.#ws.#emitError(error);
    }
    close(code: number, reason: string, wasClean: boolean): void {
      this.#ws.#onClose(code, reason, wasClean);
    }
  };
}

// As ws (and the WHATWG class) have them: the constants fixed on the class and its prototype,
// the attributes enumerable.
for (const [name, value] of Object.entries(ReadyState)) {
  Object.defineProperty(WebSocket, name, { value, enumerable: true, writable: false, configurable: false });
  Object.defineProperty(WebSocket.prototype, name, { value, enumerable: true });
}
for (const name of ["binaryType", "bufferedAmount", "extensions", "isPaused", "protocol", "readyState", "url", "onopen", "onmessage", "onclose", "onerror"]) {
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true });
}

function failClosedBeforeOpen(ws: WebSocket): void {
  ws.failHandshake(new InvalidStateError("WebSocket was closed before the connection was established"));
}

/**
 * Emits an event whose listeners are the application's. What a listener throws is the
 * application's bug: as with `ws`, it surfaces as an uncaught exception (the process's
 * 'uncaughtException'), and the connection neither closes (1011) nor swallows it.
 */
function emitUncaught<K extends "message" | "ping" | "pong">(ws: WebSocket, event: K, ...args: WebSocketEvents[K]): void {
  try {
    (ws.emit as (event: K, ...args: WebSocketEvents[K]) => boolean)(event, ...args);
  } catch (error) {
    process.nextTick(rethrow, error);
  }
}

const BINARY_TYPES: readonly string[] = ["nodebuffer", "arraybuffer", "blob", "fragments"];

const STATE_NAMES = ["CONNECTING", "OPEN", "CLOSING", "CLOSED"] as const;

function toNodeBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
