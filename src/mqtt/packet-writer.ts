// The client's output path: encodes packets and hands them to the WebSocket, gathering the packets
// of one turn of the event loop into one binary message (one write instead of many). Apart from
// the client so that batching and the size limit live in one place; the client owns the socket.
import mqttPacket from "mqtt-packet";
import type { Packet } from "mqtt-packet";
import { OPEN, type MqttTransport } from "./transport/transport.js";
import { PacketTooLargeError } from "./errors.js";

/** Most bytes gathered into one WebSocket message before it is handed over. */
const FRAME_BYTES = 64 * 1024;

export interface PacketWriterOptions {
  protocolVersion: 4 | 5;
  /** The broker's Maximum Packet Size, if it announced one (read at each send). */
  maxPacketSize: () => number | undefined;
  /** The WebSocket of the current connection, if any (read at each send and flush). */
  socket: () => MqttTransport | undefined;
  /** Told of each packet queued for the WebSocket, as it was given to `send`. */
  onSend: (packet: Packet | Uint8Array) => void;
}

export class PacketWriter {
  readonly #options: PacketWriterOptions;
  /** Encoded packets not yet handed to the transport (flushed at the end of the current turn). */
  #out: Uint8Array[] = [];
  #outBytes = 0;
  #flushQueued = false;
  #lastSend = 0;

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
    const ws = this.#options.socket();
    if (!ws || ws.readyState !== OPEN) return;
    // Packets of one turn of the event loop share a WebSocket frame (one write instead of many).
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

  /** Hands the packets sent so far to the WebSocket, as one binary message. */
  flush(): void {
    if (this.#out.length === 0) return;
    const data = this.#out.length === 1 ? this.#out[0]! : Buffer.concat(this.#out, this.#outBytes);
    this.#out = [];
    this.#outBytes = 0;
    const ws = this.#options.socket();
    if (ws && ws.readyState === OPEN) ws.send(data);
  }

  /** Drops the packets not yet handed over (their connection closed). */
  discard(): void {
    this.#out = [];
    this.#outBytes = 0;
  }
}
