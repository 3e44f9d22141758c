// The client's output path: encodes packets and hands them to the transport, gathering the packets
// of one turn of the event loop into one write (over a WebSocket, one binary message). Apart from
// the client so that batching, the size limit and the high-water mark live in one place; the
// client owns the transport.
import mqttPacket from "mqtt-packet";
import type { Packet } from "mqtt-packet";
import { OPEN, type MqttTransport } from "./transport/transport.js";
import { PacketTooLargeError } from "./errors.js";

/** Most bytes gathered into one write (one WebSocket message) before it is handed over. */
const FRAME_BYTES = 64 * 1024;

/** Default `highWaterMark`: far below our WebSocket's maxBufferedAmount (16 MiB), which closes the connection. */
export const DEFAULT_HIGH_WATER_MARK = 256 * 1024;

/** How often a congested transport without a drain signal is looked at again, ms. */
const DRAIN_POLL_MS = 10;

export interface PacketWriterOptions {
  protocolVersion: 4 | 5;
  /** The broker's Maximum Packet Size, if it announced one (read at each send). */
  maxPacketSize: () => number | undefined;
  /** The transport of the current connection, if any (read at each send and flush). */
  transport: () => MqttTransport | undefined;
  /** Told of each packet queued for the transport, as it was given to `send`. */
  onSend: (packet: Packet | Uint8Array) => void;
  /** Bytes waiting to be written above which the writer counts as congested. */
  highWaterMark: number;
  /** Called once the congestion that `waitForDrain` waited on is over (not if the connection closed first). */
  onDrained: () => void;
}

export class PacketWriter {
  readonly #options: PacketWriterOptions;
  /** Encoded packets not yet handed to the transport (flushed at the end of the current turn). */
  #out: Uint8Array[] = [];
  #outBytes = 0;
  #flushQueued = false;
  #lastSend = 0;
  /** `waitForDrain` was called and onDrained has not been called yet. */
  #drainAwaited = false;

  constructor(options: PacketWriterOptions) {
    this.#options = options;
  }

  /** When a packet was last queued (Date.now() ms; 0 before the first). */
  get lastSend(): number {
    return this.#lastSend;
  }

  /** Sends one packet (encoding it unless given encoded). Throws PacketTooLargeError above the broker's Maximum Packet Size. */
  send(packet: Packet | Uint8Array): void {
    const bytes = packet instanceof Uint8Array ? packet : mqttPacket.generate(packet, { protocolVersion: this.#options.protocolVersion });
    const max = this.#options.maxPacketSize();
    if (max !== undefined && bytes.length > max) throw new PacketTooLargeError(bytes.length, max);
    if (this.#options.transport()?.readyState !== OPEN) return;
    // Packets of one turn of the event loop share a write (a WebSocket frame), not one each.
    this.#out.push(bytes);
    this.#outBytes += bytes.length;
    if (this.#outBytes >= FRAME_BYTES) this.flush();
    else if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flushSoon);
    }
    this.#lastSend = Date.now();
    this.#options.onSend(packet);
  }

  readonly #flushSoon = () => {
    this.#flushQueued = false;
    this.flush();
  };

  /** Hands the packets sent so far to the transport, in one write. */
  flush(): void {
    if (this.#out.length === 0) return;
    const data = this.#out.length === 1 ? this.#out[0]! : Buffer.concat(this.#out, this.#outBytes);
    this.#out = [];
    this.#outBytes = 0;
    const transport = this.#options.transport();
    if (transport?.readyState === OPEN) transport.send(data);
  }

  /** Drops the packets not yet handed over (their connection closed). */
  discard(): void {
    this.#out = [];
    this.#outBytes = 0;
    this.#drainAwaited = false;
  }

  /**
   * More than `highWaterMark` bytes wait to be written (gathered here or in the transport): the
   * application's messages should wait, or the backlog would grow without bound (over our
   * WebSocket, until its maxBufferedAmount fails the connection).
   */
  get congested(): boolean {
    return this.#outBytes + (this.#options.transport()?.bufferedAmount ?? 0) > this.#options.highWaterMark;
  }

  /** Calls onDrained once the backlog is back at or below the high-water mark (nothing if the connection closes first). */
  waitForDrain(): void {
    if (this.#drainAwaited) return;
    this.#drainAwaited = true;
    this.#checkDrained();
  }

  readonly #checkDrained = (): void => {
    if (!this.#drainAwaited) return;
    const transport = this.#options.transport();
    if (transport?.readyState !== OPEN) {
      this.#drainAwaited = false;
      return;
    }
    if (!this.congested) {
      this.#drainAwaited = false;
      this.#options.onDrained();
      return;
    }
    // A transport that cannot say when it drains (the browser's WebSocket) is asked again shortly.
    if (transport.onceDrained) transport.onceDrained(this.#checkDrained);
    else setTimeout(this.#checkDrained, DRAIN_POLL_MS);
  };
}
