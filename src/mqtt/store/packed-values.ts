// The values a FileStore holds, without a JavaScript object apiece: bytes packed into large
// chunks allocated outside V8's heap, and each value's chunk, offset and length in typed arrays,
// under a numbered slot. A Uint8Array per held value (and the garbage of making it) cost ~80 B of
// heap each and grew V8's young generation by ~30 MiB during a fill: RSS ~1.75× the bytes held.
//
// A chunk's space is never reused: a chunk goes once every value in it is freed (values mostly
// leave in the order they came), and `repack` (run when the log compacts) copies the live values
// into fresh chunks. So a view handed out stays valid, even after its value is freed.

/** Bytes per chunk; a value larger than a quarter of it gets a chunk of its own. */
const CHUNK_BYTES = 256 << 10;
const OWN_CHUNK_ABOVE = CHUNK_BYTES >> 2;
const INITIAL_SLOTS = 1024;

export class PackedValues {
  #chunks: Array<Buffer | undefined> = [];
  /** Values alive in each chunk, by chunk index. */
  #chunkLive: number[] = [];
  /** The chunk being filled, and how far. */
  #current = -1;
  #used = 0;
  #chunkOf = new Uint32Array(INITIAL_SLOTS);
  #offsetOf = new Uint32Array(INITIAL_SLOTS);
  #lengthOf = new Uint32Array(INITIAL_SLOTS);
  /** Values kept as given (`share`) instead of copied, by slot. */
  readonly #shared = new Map<number, Uint8Array>();
  readonly #freeSlots: number[] = [];
  #nextSlot = 0;

  /** Copies `value` in; returns its slot. */
  store(value: Uint8Array): number {
    const slot = this.#takeSlot();
    this.#place(slot, value);
    return slot;
  }

  /** Keeps `value` itself (the caller never modifies it); returns its slot. */
  share(value: Uint8Array): number {
    const slot = this.#takeSlot();
    this.#shared.set(slot, value);
    this.#lengthOf[slot] = value.length;
    return slot;
  }

  length(slot: number): number {
    return this.#lengthOf[slot]!;
  }

  /** The bytes in `slot`, not a copy: valid until `repack`, never written to again. */
  view(slot: number): Uint8Array {
    const shared = this.#shared.get(slot);
    if (shared !== undefined) return shared;
    const offset = this.#offsetOf[slot]!;
    return this.#chunks[this.#chunkOf[slot]!]!.subarray(offset, offset + this.#lengthOf[slot]!);
  }

  free(slot: number): void {
    if (!this.#shared.delete(slot)) this.#release(this.#chunkOf[slot]!);
    this.#freeSlots.push(slot);
  }

  /**
   * Copies every copied value into fresh chunks, leaving behind the space of those freed; the
   * last chunk is only as large as what is left to copy.
   */
  repack(): void {
    const old = this.#chunks;
    this.#chunks = [];
    this.#chunkLive = [];
    this.#current = -1;
    const free = new Set(this.#freeSlots);
    const copied = [];
    let packedBytes = 0;
    for (let slot = 0; slot < this.#nextSlot; slot++) {
      if (free.has(slot) || this.#shared.has(slot)) continue;
      copied.push(slot);
      if (this.#lengthOf[slot]! <= OWN_CHUNK_ABOVE) packedBytes += this.#lengthOf[slot]!;
    }
    for (const slot of copied) {
      const offset = this.#offsetOf[slot]!;
      const length = this.#lengthOf[slot]!;
      this.#place(slot, old[this.#chunkOf[slot]!]!.subarray(offset, offset + length), Math.min(CHUNK_BYTES, packedBytes));
      if (length <= OWN_CHUNK_ABOVE) packedBytes -= length;
    }
  }

  clear(): void {
    this.#chunks = [];
    this.#chunkLive = [];
    this.#current = -1;
    this.#shared.clear();
    this.#freeSlots.length = 0;
    this.#nextSlot = 0;
  }

  /** Copies `value` into `slot`; a new chunk, if needed, gets `chunkBytes`. */
  #place(slot: number, value: Uint8Array, chunkBytes = CHUNK_BYTES): void {
    let chunk: number;
    let offset = 0;
    if (value.length > OWN_CHUNK_ABOVE) {
      chunk = this.#addChunk(value.length);
    } else {
      chunk = this.#chunkWithRoom(value.length, chunkBytes);
      offset = this.#used;
      this.#used += value.length;
    }
    this.#chunks[chunk]!.set(value, offset);
    this.#chunkOf[slot] = chunk;
    this.#offsetOf[slot] = offset;
    this.#lengthOf[slot] = value.length;
    this.#chunkLive[chunk]!++;
  }

  #chunkWithRoom(length: number, chunkBytes: number): number {
    if (this.#current < 0 || this.#used + length > this.#chunks[this.#current]!.length) {
      this.#current = this.#addChunk(chunkBytes);
      this.#used = 0;
    }
    return this.#current;
  }

  #addChunk(bytes: number): number {
    this.#chunks.push(Buffer.allocUnsafeSlow(bytes));
    this.#chunkLive.push(0);
    return this.#chunks.length - 1;
  }

  /** Drops a chunk once its last value is freed (the one being filled stays). */
  #release(chunk: number): void {
    if (--this.#chunkLive[chunk]! === 0 && chunk !== this.#current) this.#chunks[chunk] = undefined;
  }

  #takeSlot(): number {
    const reused = this.#freeSlots.pop();
    if (reused !== undefined) return reused;
    if (this.#nextSlot === this.#lengthOf.length) this.#growSlots();
    return this.#nextSlot++;
  }

  #growSlots(): void {
    const grow = (old: Uint32Array) => {
      const bigger = new Uint32Array(old.length * 2);
      bigger.set(old);
      return bigger;
    };
    this.#chunkOf = grow(this.#chunkOf);
    this.#offsetOf = grow(this.#offsetOf);
    this.#lengthOf = grow(this.#lengthOf);
  }
}
