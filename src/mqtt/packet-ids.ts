// Packet identifiers for our outgoing PUBLISH (QoS > 0), SUBSCRIBE and UNSUBSCRIBE.
// §2.2.1 (3.1.1) / §2.2.1 (5): "Each time a Client sends a new packet of one of these types it MUST
// assign it a currently unused non-zero Packet Identifier."
import { PacketIdsExhaustedError } from "./errors.js";

const MAX_ID = 65_535;

export class PacketIds {
  /** One bit per id in use (8 KiB). */
  readonly #used = new Uint32Array((MAX_ID + 1) >>> 5);
  #inUse = 0;
  #next: number;

  constructor(first = 1) {
    this.#next = first;
  }

  get inUse(): number {
    return this.#inUse;
  }

  /** Takes the next unused id after the last one handed out, wrapping from 65535 to 1. */
  allocate(): number {
    if (this.#inUse >= MAX_ID) throw new PacketIdsExhaustedError();
    let id = this.#next;
    while (this.has(id)) id = id === MAX_ID ? 1 : id + 1;
    this.#next = id === MAX_ID ? 1 : id + 1;
    this.#mark(id);
    return id;
  }

  /** Marks `id` as in use (an entry reloaded from the store); false if it already was. */
  reserve(id: number): boolean {
    if (!Number.isInteger(id) || id < 1 || id > MAX_ID || this.has(id)) return false;
    this.#mark(id);
    return true;
  }

  has(id: number): boolean {
    return (this.#used[id >>> 5]! & (1 << (id & 31))) !== 0;
  }

  release(id: number): void {
    if (!this.has(id)) return;
    this.#used[id >>> 5]! &= ~(1 << (id & 31));
    this.#inUse--;
  }

  #mark(id: number): void {
    this.#used[id >>> 5]! |= 1 << (id & 31);
    this.#inUse++;
  }
}
