// Copies of many small, long-lived byte strings (stored messages), packed into shared chunks.
//
// Node's Buffer pool would pack them too, but every short-lived Buffer of the process (each
// packet mqtt-packet encodes, say) is cut from the same 8 KiB slabs, and one held message keeps
// its whole slab alive: 10,000 held messages of ~100 B kept 3.4 MB of slabs. Here a chunk holds
// only copies made by its arena, so held messages keep about their own size, and chunks are
// freed as the messages in them go (messages mostly leave in the order they came).
import { View } from "../core/bytes.js";

/** Bytes per chunk; larger copies get an ArrayBuffer of their own. */
const CHUNK_BYTES = 16 << 10;
const OWN_BUFFER_ABOVE = CHUNK_BYTES >> 3;

export class ByteArena {
  #chunk = new ArrayBuffer(0);
  #used = 0;

  /** A copy of `bytes` that nothing else writes to. */
  copy(bytes: Uint8Array): Uint8Array {
    const out = this.alloc(bytes.length);
    out.set(bytes);
    return out;
  }

  /** `length` uninitialised bytes that nothing else writes to. */
  alloc(length: number): Uint8Array {
    if (length > OWN_BUFFER_ABOVE) return new View(new ArrayBuffer(length), 0, length);
    if (this.#used + length > this.#chunk.byteLength) {
      this.#chunk = new ArrayBuffer(CHUNK_BYTES);
      this.#used = 0;
    }
    const out = new View(this.#chunk, this.#used, length);
    this.#used += length;
    return out;
  }
}
