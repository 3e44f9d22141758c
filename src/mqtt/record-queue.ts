// Outgoing messages waiting to be sent, kept as bytes: each message's record (see record.ts)
// where it already lies (the client's ByteArena chunks), and what the session needs to order it
// in typed arrays. A waiting message is no JavaScript object at all until it is taken to be sent.
//
// Why: a gateway offline for hours can hold tens of thousands of messages. As objects (an entry,
// a Uint8Array view, a key string: ~330 B of heap each) every one of them survives V8's young-
// generation collections, and V8 answers survivors by growing the young generation, which it
// keeps: 10,000 offline messages cost ~15 MB of RSS that way. As bytes they cost their own size
// plus 23 B.
import { View } from "../core/bytes.js";

const INITIAL_CAPACITY = 64;

/** One message as it leaves the queue; `record` is a view on the bytes that were pushed. */
export interface QueuedRecord {
  seq: number;
  messageId: number;
  sent: boolean;
  record: Uint8Array;
}

export class RecordQueue {
  /** The buffers holding queued records; `#buffers[i]` is buffer number `#firstBuffer + i`. */
  #buffers: ArrayBufferLike[] = [];
  #firstBuffer = 0;
  // The index, a deque: entries #head .. #tail - 1.
  #seq = new Float64Array(INITIAL_CAPACITY);
  #buffer = new Uint32Array(INITIAL_CAPACITY);
  #offset = new Uint32Array(INITIAL_CAPACITY);
  #length = new Uint32Array(INITIAL_CAPACITY);
  #messageId = new Uint16Array(INITIAL_CAPACITY);
  #sent = new Uint8Array(INITIAL_CAPACITY);
  #head = 0;
  #tail = 0;
  #bytes = 0;

  get length(): number {
    return this.#tail - this.#head;
  }
  /** Bytes of the queued records. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The sequence number of the first queued record, or Infinity when empty. */
  get firstSeq(): number {
    return this.#head < this.#tail ? this.#seq[this.#head]! : Infinity;
  }

  /**
   * Queues `record` without copying it: its bytes must not change afterwards (the client's
   * records never do; a ByteArena never reuses its chunks). Sequence numbers must rise.
   */
  push(seq: number, messageId: number, sent: boolean, record: Uint8Array): void {
    if (this.#tail > this.#head && seq <= this.#seq[this.#tail - 1]!) throw new RangeError(`record ${seq} pushed after ${this.#seq[this.#tail - 1]}`);
    if (this.#tail === this.#seq.length) this.#makeRoom();
    if (this.#buffers.at(-1) !== record.buffer) this.#buffers.push(record.buffer);
    const i = this.#tail++;
    this.#seq[i] = seq;
    this.#buffer[i] = this.#firstBuffer + this.#buffers.length - 1;
    this.#offset[i] = record.byteOffset;
    this.#length[i] = record.length;
    this.#messageId[i] = messageId;
    this.#sent[i] = sent ? 1 : 0;
    this.#bytes += record.length;
  }

  /** Takes the first record out, or undefined when empty. */
  shift(): QueuedRecord | undefined {
    if (this.#head === this.#tail) return undefined;
    const i = this.#head++;
    const buffer = this.#buffers[this.#buffer[i]! - this.#firstBuffer]!;
    this.#bytes -= this.#length[i]!;
    const out = { seq: this.#seq[i]!, messageId: this.#messageId[i]!, sent: this.#sent[i] === 1, record: new View(buffer, this.#offset[i]!, this.#length[i]!) };
    if (this.#head === this.#tail) this.clear();
    else this.#releaseBuffersBefore(this.#buffer[this.#head]!);
    return out;
  }

  clear(): void {
    this.#buffers = [];
    this.#firstBuffer = 0;
    this.#head = this.#tail = 0;
    this.#bytes = 0;
  }

  /** Lets go of the buffers before buffer number `n` (no queued record is in them). */
  #releaseBuffersBefore(n: number): void {
    const drop = n - this.#firstBuffer;
    if (drop <= 0) return;
    this.#buffers.splice(0, drop);
    this.#firstBuffer = n;
  }

  /** Moves the live index entries to the front, growing the arrays when more than half full. */
  #makeRoom(): void {
    const live = this.#tail - this.#head;
    const capacity = live * 2 > this.#seq.length ? this.#seq.length * 2 : this.#seq.length;
    const move = <T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(from: T, make: (n: number) => T): T => {
      if (capacity === from.length) {
        from.copyWithin(0, this.#head, this.#tail);
        return from;
      }
      const to = make(capacity);
      to.set(from.subarray(this.#head, this.#tail));
      return to;
    };
    this.#seq = move(this.#seq, (n) => new Float64Array(n));
    this.#buffer = move(this.#buffer, (n) => new Uint32Array(n));
    this.#offset = move(this.#offset, (n) => new Uint32Array(n));
    this.#length = move(this.#length, (n) => new Uint32Array(n));
    this.#messageId = move(this.#messageId, (n) => new Uint16Array(n));
    this.#sent = move(this.#sent, (n) => new Uint8Array(n));
    this.#head = 0;
    this.#tail = live;
  }
}
