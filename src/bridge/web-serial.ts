// Web Serial (`navigator.serial`) under the bridge, so that a page can be the bridge: a thin
// adapter from the W3C SerialPort's streams to the SerialPortLike the port runner reads and
// writes. It knows nothing of the link protocol, and nothing of the DOM: it takes any object with
// SerialPort's shape (WebSerialPort below), which is how tests drive it from a simulated device.
// https://wicg.github.io/serial/
import { BridgeError } from "./errors.js";
import type { PortOpener, SerialPortLike, SerialSettings } from "./port.js";

/** What the adapter uses of a W3C SerialPort. */
export interface WebSerialPort {
  open(options: { baudRate: number; dataBits?: number; stopBits?: number; parity?: "none" | "even" | "odd"; bufferSize?: number }): Promise<void>;
  close(): Promise<void>;
  readonly readable: ReadableStream<Uint8Array> | null;
  readonly writable: WritableStream<Uint8Array> | null;
}

/**
 * A PortOpener over Web Serial. Pages have no port paths: the bridge's path names the port
 * (e.g. "webserial:1"), and `pick` returns the SerialPort for it (one the user chose with
 * `navigator.serial.requestPort()`, or one of `navigator.serial.getPorts()` after a replug).
 */
export function webSerialOpener(pick: (path: string) => WebSerialPort | undefined | Promise<WebSerialPort | undefined>): PortOpener {
  return async (settings) => {
    const port = await pick(settings.path);
    if (!port) throw new BridgeError("BRIDGE_PORT_ABSENT", `${settings.path} is not available (unplugged, or not granted to this page)`);
    return WebSerialAdapter.open(port, settings);
  };
}

type Listeners = { data: Array<(chunk: Uint8Array) => void>; close: Array<(error?: Error | null) => void>; error: Array<(error: Error) => void> };

class WebSerialAdapter implements SerialPortLike {
  readonly #port: WebSerialPort;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #listeners: Listeners = { data: [], close: [], error: [] };
  #open = true;
  #pending = 0;

  static async open(port: WebSerialPort, settings: SerialSettings): Promise<WebSerialAdapter> {
    const { parity } = settings;
    if (parity === "mark" || parity === "space") throw new BridgeError("BRIDGE_BAD_CONFIG", `${settings.path}: Web Serial has no ${parity} parity (none, even or odd)`);
    await port.open({ baudRate: settings.baudRate, dataBits: settings.dataBits, stopBits: settings.stopBits === 1.5 ? 2 : settings.stopBits, parity, bufferSize: settings.readBufferSize });
    if (!port.readable || !port.writable) {
      await port.close().catch(() => {});
      throw new BridgeError("BRIDGE_PORT_ABSENT", `${settings.path} opened without streams (it went away while opening)`);
    }
    return new WebSerialAdapter(port, port.readable.getReader(), port.writable.getWriter());
  }

  private constructor(port: WebSerialPort, reader: ReadableStreamDefaultReader<Uint8Array>, writer: WritableStreamDefaultWriter<Uint8Array>) {
    this.#port = port;
    this.#reader = reader;
    this.#writer = writer;
    // Started after the runner had a chance to listen (it does so right after the open resolves).
    queueMicrotask(() => void this.#readLoop());
  }

  get isOpen(): boolean {
    return this.#open;
  }

  get writableLength(): number {
    return this.#pending;
  }

  write(data: Uint8Array): boolean {
    if (!this.#open) return false;
    this.#pending += data.length;
    this.#writer.write(data).then(
      () => (this.#pending -= data.length),
      (error: Error) => this.#end(error),
    );
    return true;
  }

  close(callback?: (error?: Error | null) => void): void {
    void this.#end(undefined).then(() => callback?.(null));
  }

  on(event: "data", listener: (chunk: Uint8Array) => void): this;
  on(event: "close", listener: (error?: Error | null) => void): this;
  on(event: "error", listener: (error: Error) => void): this;
  on(event: keyof Listeners, listener: (arg: never) => void): this {
    (this.#listeners[event] as Array<(arg: never) => void>).push(listener);
    return this;
  }

  removeAllListeners(): this {
    this.#listeners = { data: [], close: [], error: [] };
    return this;
  }

  async #readLoop(): Promise<void> {
    try {
      for (;;) {
        const { value, done } = await this.#reader.read();
        if (done) break;
        if (value?.length) for (const listener of this.#listeners.data) listener(value);
      }
      await this.#end(undefined);
    } catch (error) {
      // A USB adapter pulled out: the read fails with a NetworkError and the port is unusable.
      await this.#end(error as Error);
    }
  }

  async #end(error: Error | undefined): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    await this.#reader.cancel().catch(() => {});
    this.#reader.releaseLock();
    await this.#writer.close().catch(() => {});
    this.#writer.releaseLock();
    await this.#port.close().catch(() => {});
    for (const listener of this.#listeners.close) listener(error ?? null);
  }
}
