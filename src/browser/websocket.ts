// edgews's WebSocket in a page (the `edgews` entry's browser build): the browser's own WebSocket
// plus what it lacks, with the Node client's option names. `heartbeat`: a page cannot send
// protocol pings, so a silent peer is found with an application message the server answers
// (any message received counts as hearing from it); one that stays silent is dropped (close
// 1006). `reconnect`: after a close the page did not ask for, the same object connects again
// with backoff and full jitter (the MQTT client's Backoff), firing "reconnect" before each try.
import { Backoff, type ReconnectOptions } from "../mqtt/backoff.js";

export interface BrowserHeartbeatOptions {
  /** Send `message` after this many ms without hearing from the peer. */
  interval: number;
  /** Declare the peer dead when nothing arrives this many ms after it. Default: `interval`. */
  timeout?: number;
  /** What to send: something the server answers (e.g. "ping" to a server that replies "pong"). */
  message: string | ArrayBufferView | ArrayBuffer;
}

export interface BrowserWebSocketOptions {
  heartbeat?: BrowserHeartbeatOptions;
  /** Reconnect after closes the page did not ask for. Default: off (as the native WebSocket). */
  reconnect?: ReconnectOptions | boolean;
}

/** Detail of a "reconnect" event: the attempt about to be made, after `delay` ms. */
export interface ReconnectDetail {
  attempt: number;
  delay: number;
}

type Handler<E extends Event> = ((event: E) => void) | null;

export class WebSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  readonly url: string;
  readonly #protocols: string | string[] | undefined;
  readonly #heartbeat: BrowserHeartbeatOptions | undefined;
  readonly #backoff: Backoff | undefined;
  #ws: globalThis.WebSocket | undefined;
  #binaryType: BinaryType = "blob";
  #closedByUs = false;
  #timers: Record<"heartbeat" | "reconnect" | "stable", ReturnType<typeof setTimeout> | undefined> = { heartbeat: undefined, reconnect: undefined, stable: undefined };
  #awaitingAnswer = false;
  onopen: Handler<Event> = null;
  onmessage: Handler<MessageEvent> = null;
  onclose: Handler<CloseEvent> = null;
  onerror: Handler<Event> = null;
  onreconnect: Handler<CustomEvent<ReconnectDetail>> = null;

  constructor(url: string | URL, protocols?: string | string[], options: BrowserWebSocketOptions = {}) {
    super();
    this.url = new URL(String(url)).href;
    this.#protocols = protocols;
    const { heartbeat, reconnect } = options;
    if (heartbeat && !(heartbeat.interval > 0)) throw new RangeError(`heartbeat.interval must be a positive number of ms, not ${String(heartbeat.interval)}`);
    this.#heartbeat = heartbeat;
    this.#backoff = reconnect ? new Backoff(reconnect === true ? {} : reconnect) : undefined;
    this.#open();
  }

  get readyState(): number {
    return this.#ws?.readyState ?? WebSocket.CLOSED;
  }
  get protocol(): string {
    return this.#ws?.protocol ?? "";
  }
  get extensions(): string {
    return this.#ws?.extensions ?? "";
  }
  get bufferedAmount(): number {
    return this.#ws?.bufferedAmount ?? 0;
  }
  get binaryType(): BinaryType {
    return this.#binaryType;
  }
  set binaryType(type: BinaryType) {
    this.#binaryType = type;
    if (this.#ws) this.#ws.binaryType = type;
  }

  /** As the native send: throws InvalidStateError unless open (nothing is queued across reconnects). */
  send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
    if (!this.#ws) throw new DOMException("the WebSocket is not open (waiting to reconnect)", "InvalidStateError");
    this.#ws.send(data as string);
  }

  /** Closes for good: no reconnect after it. */
  close(code?: number, reason?: string): void {
    this.#closedByUs = true;
    clearTimeout(this.#timers.reconnect);
    this.#ws?.close(code, reason);
  }

  #open(): void {
    const ws = new globalThis.WebSocket(this.url, this.#protocols);
    ws.binaryType = this.#binaryType;
    ws.onopen = () => {
      const backoff = this.#backoff;
      // A connection that stays up resetAfter ms: the next outage starts again from the first delay.
      if (backoff) this.#timers.stable = setTimeout(() => backoff.reset(), backoff.resetAfter);
      this.#armHeartbeat(false);
      this.#fire(new Event("open"), this.onopen);
    };
    ws.onmessage = (event: MessageEvent) => {
      this.#armHeartbeat(false);
      this.#fire(new MessageEvent("message", { data: event.data, origin: event.origin }), this.onmessage);
    };
    ws.onerror = () => this.#fire(new Event("error"), this.onerror);
    ws.onclose = (event: CloseEvent) => this.#closed(ws, event.code, event.reason, event.wasClean);
    this.#ws = ws;
  }

  /** The current connection is gone: say so, then reconnect unless the page closed it. */
  #closed(ws: globalThis.WebSocket, code: number, reason: string, wasClean: boolean): void {
    if (this.#ws !== ws) return;
    ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
    this.#ws = undefined;
    clearTimeout(this.#timers.heartbeat);
    clearTimeout(this.#timers.stable);
    this.#fire(new CloseEvent("close", { code, reason, wasClean }), this.onclose);
    const backoff = this.#backoff;
    if (this.#closedByUs || !backoff || backoff.exhausted) return;
    const delay = backoff.next();
    this.#fire(new CustomEvent<ReconnectDetail>("reconnect", { detail: { attempt: backoff.attempt, delay } }), this.onreconnect);
    this.#timers.reconnect = setTimeout(() => {
      if (!this.#closedByUs) this.#open();
    }, delay);
  }

  /** (Re)starts the heartbeat's wait: a full interval after hearing from the peer, else the answer's timeout. */
  #armHeartbeat(awaitingAnswer: boolean): void {
    const heartbeat = this.#heartbeat;
    if (!heartbeat) return;
    this.#awaitingAnswer = awaitingAnswer;
    clearTimeout(this.#timers.heartbeat);
    this.#timers.heartbeat = setTimeout(() => this.#heartbeatDue(), awaitingAnswer ? (heartbeat.timeout ?? heartbeat.interval) : heartbeat.interval);
  }

  #heartbeatDue(): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (this.#awaitingAnswer) {
      // The peer is gone without a close (a dead network path): the close handshake cannot
      // complete, so stop waiting for it.
      ws.close(4000, "no answer to the heartbeat");
      this.#fire(new Event("error"), this.onerror);
      this.#closed(ws, 1006, "no answer to the heartbeat: the peer is unreachable", false);
      return;
    }
    ws.send(this.#heartbeat!.message as string);
    this.#armHeartbeat(true);
  }

  #fire<E extends Event>(event: E, handler: Handler<E>): void {
    handler?.call(this, event);
    this.dispatchEvent(event);
  }
}
