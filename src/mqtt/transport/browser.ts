// The MQTT client's transport in a page: the browser's own WebSocket, with binary messages as
// ArrayBuffers. The browser owns the TCP connection, so `terminate` closes and stops listening
// at once instead of waiting for the close handshake (the client reconnects without waiting).
import { MqttProtocolError } from "../errors.js";
import type { MessageStore } from "../store/store.js";
import { CLOSED, WEBSOCKET_SCHEMES, type MqttTransport, type TransportHandlers, type TransportOptions } from "./transport.js";

/** Opens the page's WebSocket to `url` offering `protocol`. Node's transport options do not apply here. */
export function openTransport(url: string, protocol: string, handlers: TransportHandlers, _options?: TransportOptions): MqttTransport {
  const scheme = new URL(url).protocol;
  if (!WEBSOCKET_SCHEMES.has(scheme)) throw new TypeError(`a page can open only ws:// and wss:// connections, not ${scheme} (plain TCP and TLS need Node)`);
  return new BrowserTransport(url, protocol, handlers);
}

/** A page has no files: a `store` given as a path is refused. */
export function openFileStore(path: string): Promise<MessageStore> {
  return Promise.reject(new TypeError(`store: "${path}" names a file, which a page cannot open; pass a store object (IndexedDbStore, MemoryStore)`));
}

class BrowserTransport implements MqttTransport {
  readonly #ws: globalThis.WebSocket;
  /** Cleared once onClose has been called: nothing is reported after it. */
  #handlers: TransportHandlers | undefined;

  constructor(url: string, protocol: string, handlers: TransportHandlers) {
    this.#handlers = handlers;
    const ws = new globalThis.WebSocket(url, protocol);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => this.#handlers?.onOpen();
    ws.onmessage = (event: MessageEvent<unknown>) => {
      if (event.data instanceof ArrayBuffer) {
        this.#handlers?.onMessage(Buffer.from(event.data));
        return;
      }
      // MQTT 5 §6.0: "If any other type of data frame is received the recipient MUST close the Network Connection."
      this.#handlers?.onError(new MqttProtocolError(`the server at ${url} sent a text WebSocket message; MQTT uses binary messages only`));
      this.terminate();
    };
    // Browsers hide why a WebSocket failed (the console has it); say which connection.
    ws.onerror = () => this.#handlers?.onError(new Error(`the WebSocket connection to ${url} failed or broke (the browser gives no reason)`));
    ws.onclose = () => this.#closed();
    this.#ws = ws;
  }

  get readyState(): number {
    return this.#handlers ? this.#ws.readyState : CLOSED;
  }
  get protocol(): string {
    return this.#ws.protocol;
  }
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  send(data: Uint8Array): void {
    this.#ws.send(data);
  }

  close(code?: number): void {
    this.#ws.close(code);
  }

  terminate(): void {
    if (!this.#handlers) return;
    this.#ws.close();
    this.#closed();
  }

  #closed(): void {
    const handlers = this.#handlers;
    this.#handlers = undefined;
    handlers?.onClose();
  }
}
