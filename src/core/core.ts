import { View } from "./bytes.js";
import { FrameEncoder, MASK_IN_JS_BELOW, type EncodeOptions } from "./encoder.js";
import { FrameParser, type ParserHandlers, type ParserOptions } from "./parser.js";
import { CoreError } from "./errors.js";
import type { CoreExports, Flavour } from "./wasm.js";

export interface CoreOptions {
  /** Connection slots reserved up front (each costs 256 bytes). Default 1024. */
  maxConnections?: number;
  /**
   * Bytes of the input arena a received chunk is copied into (the output arena is 1.25x).
   * Larger chunks are fed in arena-sized pieces. Default 64 KiB.
   */
  arenaBytes?: number;
  /** Events one feed may produce before the host drains them. Default 4096. */
  maxEvents?: number;
  /** Force the SIMD (true) or scalar (false) build. Default: SIMD where the engine has it. */
  simd?: boolean;
  /**
   * The folder (URL ending in "/") that serves edgews-simd.wasm and edgews-scalar.wasm, for
   * apps that bundle the core and host the modules with their own assets. Default: the
   * package's build/ folder, relative to the loader module.
   */
  wasmDir?: URL | string;
}

/** What `Core.exclusive` feeds: a parser. */
interface Feeder {
  feedNow(bytes: Uint8Array): void;
}

export const DEFAULT_CORE_OPTIONS = { maxConnections: 1024, arenaBytes: 64 * 1024, maxEvents: 4096 } as const;

// Measured by `npm run bench -- crossover`: below these sizes a JavaScript loop beats a call
// into WASM plus the copies in and out (MASK_IN_JS_BELOW is in encoder.ts).
const UTF8_ASCII_IN_JS_BELOW = 64;
/** Bytes of CSPRNG output kept for frames masked in JavaScript (256 keys). */
const JS_KEY_POOL = 1024;

/**
 * One instance of the WASM core: fixed memory shared by up to `maxConnections` parsers and
 * encoders. Everything is reserved by the constructor; memory never grows afterwards.
 */
export class Core {
  readonly flavour: Flavour;
  readonly maxConnections: number;
  /** @internal */ readonly x: CoreExports;
  /** @internal Byte view of all of the core's memory (never detaches: memory never grows). */
  readonly mem: Uint8Array;
  /** @internal */ readonly events: Uint32Array;
  /** @internal Where received chunks are fed from (owned by FrameParser.push). */
  readonly inputPtr: number;
  /** @internal Where the encoder and the mask/UTF-8 utilities work, apart from the input. */
  readonly scratchPtr: number;
  /** @internal Bytes of the input arena, and of the scratch arena. */
  readonly arenaSize: number;
  /** @internal */ readonly outputPtr: number;
  readonly #maskPool: Uint8Array;
  /** Keys for the small frames masked in JavaScript, from the CSPRNG like the core's pool. */
  readonly #jsKeys = new Uint8Array(JS_KEY_POOL);
  #jsKeyAt = JS_KEY_POOL;
  readonly #freeSlots: number[];
  #maskingEncoder: FrameEncoder | undefined;
  #plainEncoder: FrameEncoder | undefined;
  #feeding = false;
  /**
   * Pushes made from inside a handler while another push is being drained: the input arena and
   * event buffer are in use, so they wait here and run, in order, before the outer push returns.
   * It never outlives that push, so its size is bounded by what the handlers of one push do.
   */
  readonly #deferred: Array<[Feeder, Uint8Array]> = [];

  constructor(exports: CoreExports, flavour: Flavour, options: CoreOptions = {}) {
    const { maxConnections, arenaBytes, maxEvents } = { ...DEFAULT_CORE_OPTIONS, ...options };
    checkCount("maxConnections", maxConnections, 1, 1 << 20);
    checkCount("arenaBytes", arenaBytes, 1024, 1 << 30);
    checkCount("maxEvents", maxEvents, 16, 1 << 24);
    if (!exports.init(maxConnections, arenaBytes, maxEvents)) {
      throw new CoreError(`could not reserve core memory for ${maxConnections} connections and a ${arenaBytes}-byte arena`);
    }
    this.x = exports;
    this.flavour = flavour;
    this.maxConnections = maxConnections;
    this.mem = new Uint8Array(exports.memory.buffer);
    this.events = new Uint32Array(exports.memory.buffer, exports.eventsPtr(), maxEvents * 4);
    this.inputPtr = exports.inputPtr();
    this.scratchPtr = exports.scratchPtr();
    this.arenaSize = exports.inputSize();
    this.outputPtr = exports.outputPtr();
    this.#maskPool = this.mem.subarray(exports.maskPoolPtr(), exports.maskPoolPtr() + 4096);
    // Hand out low slots first: pop() takes from the end.
    this.#freeSlots = Array.from({ length: maxConnections }, (_, i) => maxConnections - 1 - i);
  }

  /** Total bytes of WASM memory this core holds; fixed for its lifetime. */
  get memoryBytes(): number {
    return this.x.memory.buffer.byteLength;
  }

  get freeSlots(): number {
    return this.#freeSlots.length;
  }

  /** @internal A push is being fed and drained: the input arena and event buffer are in use. */
  get feeding(): boolean {
    return this.#feeding;
  }

  /**
   * @internal Runs `parser.feedNow(bytes)` with the input arena and event buffer to itself (no
   * closure per push). A feed started from a handler of another is deferred until that one is
   * done. A handler that throws stops only its own parser; the first such error is rethrown
   * once every deferred feed has run.
   */
  exclusive(parser: Feeder, bytes: Uint8Array): void {
    if (this.#feeding) {
      this.#deferred.push([parser, bytes]);
      return;
    }
    this.#feeding = true;
    let failure: unknown;
    try {
      for (let next: [Feeder, Uint8Array] | undefined = [parser, bytes]; next; next = this.#deferred.shift()) {
        try {
          next[0].feedNow(next[1]);
        } catch (error) {
          failure ??= error;
        }
      }
    } finally {
      this.#feeding = false;
    }
    if (failure !== undefined) throw failure;
  }

  /** @internal */
  allocSlot(): number {
    const slot = this.#freeSlots.pop();
    if (slot === undefined) {
      throw new CoreError(`all ${this.maxConnections} connection slots of this core are in use: raise maxConnections or close connections`);
    }
    return slot;
  }

  /** @internal */
  releaseSlot(slot: number): void {
    this.x.closeSlot(slot);
    this.#freeSlots.push(slot);
  }

  /** @internal Makes sure the next `frames` masked frames have keys from the CSPRNG. */
  ensureMaskKeys(frames: number): void {
    if (this.x.maskKeysLeft() >= Math.min(frames, 1024)) return;
    crypto.getRandomValues(this.#maskPool);
    this.x.maskPoolRefilled();
  }

  /** @internal Writes a fresh 4-byte masking key into `out` at `at`, for a frame masked in JavaScript. */
  takeMaskKey(out: Uint8Array, at: number): void {
    if (this.#jsKeyAt === JS_KEY_POOL) {
      crypto.getRandomValues(this.#jsKeys);
      this.#jsKeyAt = 0;
    }
    const keys = this.#jsKeys;
    const k = this.#jsKeyAt;
    out[at] = keys[k]!;
    out[at + 1] = keys[k + 1]!;
    out[at + 2] = keys[k + 2]!;
    out[at + 3] = keys[k + 3]!;
    this.#jsKeyAt = k + 4;
  }

  /** A parser for one connection, on a slot of this core (free it with `destroy()`). */
  createParser(options: ParserOptions, handlers: ParserHandlers): FrameParser {
    return new FrameParser(this, options, handlers);
  }

  /** An encoder; `mask: true` for a client's frames. */
  createEncoder(options: { mask: boolean }): FrameEncoder {
    return new FrameEncoder(this, options);
  }

  /** The encoder for `mask` that this core's connections share: an encoder keeps no state between calls. */
  sharedEncoder(mask: boolean): FrameEncoder {
    return mask ? (this.#maskingEncoder ??= new FrameEncoder(this, { mask })) : (this.#plainEncoder ??= new FrameEncoder(this, { mask }));
  }

  /** The frames of one message as one buffer: `createEncoder({ mask }).encode(...)` in one call. */
  encodeFrame(opcode: number, payload: Uint8Array, options: EncodeOptions & { mask: boolean }): Uint8Array {
    return new FrameEncoder(this, options).encode(opcode, payload, options);
  }

  /**
   * XORs `data` in place with the 4-byte masking key (RFC 6455 §5.3), starting at key octet
   * `keyOffset` (for a payload masked in pieces).
   */
  mask(data: Uint8Array, key: Uint8Array, keyOffset = 0): void {
    if (key.length !== 4) throw new CoreError(`a masking key is 4 bytes, got ${key.length}`);
    if (data.length < MASK_IN_JS_BELOW) {
      for (let i = 0; i < data.length; i++) data[i]! ^= key[(i + keyOffset) & 3]!;
      return;
    }
    let k = (key[0]! | (key[1]! << 8) | (key[2]! << 16) | (key[3]! << 24)) >>> 0;
    k = rotateKey(k, keyOffset);
    // Pieces of a multiple of 4 bytes keep the key's phase.
    const piece = this.arenaSize & ~3;
    const at = this.scratchPtr;
    for (let off = 0; off < data.length; off += piece) {
      // A whole buffer goes as it is: a subarray costs more than the masking below ~1 KiB.
      const part = data.length <= piece ? data : data.subarray(off, off + piece);
      this.mem.set(part, at);
      this.x.mask(at, part.length, k);
      part.set(new View(this.mem.buffer, at, part.length));
    }
  }

  /** True when `data` is well-formed UTF-8 (RFC 3629: no overlongs, surrogates or > U+10FFFF). */
  isValidUtf8(data: Uint8Array): boolean {
    if (data.length < UTF8_ASCII_IN_JS_BELOW && isAscii(data)) return true;
    let state = 0;
    for (let off = 0; off < data.length; off += this.arenaSize) {
      const part = data.length <= this.arenaSize ? data : data.subarray(off, off + this.arenaSize);
      this.mem.set(part, this.scratchPtr);
      state = this.x.utf8Step(this.scratchPtr, part.length, state);
      if (state === UTF8_REJECT) return false;
    }
    return state === 0;
  }
}

const UTF8_REJECT = 12;

function isAscii(data: Uint8Array): boolean {
  for (let i = 0; i < data.length; i++) if (data[i]! >= 0x80) return false;
  return true;
}

/** The key as it applies `offset` bytes further into the payload. */
export function rotateKey(key: number, offset: number): number {
  const bits = (offset & 3) * 8;
  return bits === 0 ? key : ((key >>> bits) | (key << (32 - bits))) >>> 0;
}

function checkCount(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new CoreError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
}
