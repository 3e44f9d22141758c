// Shared by the interop suites (test/interop/): payloads of exact sizes, waiting for events with a
// deadline, opening our client, checking echoes without printing megabytes on a mismatch.
import { createHash } from "node:crypto";
import type { EventEmitter } from "node:events";
import { expect } from "vitest";
import { WebSocket, type ClientOptions } from "../../src/index.js";
import { seededBytes } from "./seeded.js";

export const MiB = 1024 * 1024;
/** Our default maxPayload and maxMessage: the largest message we accept. */
export const MAX_MESSAGE = 16 * MiB;
/** The echo sizes every peer gets, around each length form's edges; 16 MiB is tested on its own. */
export const ECHO_SIZES = [0, 1, 125, 126, 65535, 65536, MiB] as const;

/** Text with 1-, 2-, 3- and 4-byte (astral) characters. */
export const ASTRAL_TEXT = "edgews ✓ ünïcödé 𝄞 😀🚀 中文 🏳️‍🌈 end";

const TEXT_PATTERN = Buffer.from(`${ASTRAL_TEXT} | `);

/** Valid UTF-8 of exactly `size` bytes: ASTRAL_TEXT repeated (compressible), padded with "x". */
export function textOfSize(size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  const whole = size - (size % TEXT_PATTERN.length);
  if (whole > 0) out.fill(TEXT_PATTERN, 0, whole);
  // The rest: the pattern's longest prefix that ends on a character boundary, then ASCII.
  let cut = size - whole;
  while (cut > 0 && cut < TEXT_PATTERN.length && (TEXT_PATTERN[cut]! & 0xc0) === 0x80) cut--;
  TEXT_PATTERN.copy(out, whole, 0, cut);
  out.fill(0x78, whole + cut, size);
  return out;
}

const binaries = new Map<number, Buffer>();

/**
 * Pseudo-random (incompressible) bytes, the same on every run (seeded with `size`). Cached, so
 * don't modify the result.
 */
export function binaryOfSize(size: number): Buffer {
  let bytes = binaries.get(size);
  if (!bytes) binaries.set(size, (bytes = seededBytes(size, size)));
  return bytes;
}

export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Rejects with "timed out after N ms waiting for WHAT" unless `promise` settles first. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${typeof what === "string" ? what : what()}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Anything with Node's EventEmitter `once`/`off` (our WebSocket, ws's, servers). */
type Emitter = Pick<EventEmitter, "once" | "off">;

/**
 * The arguments of the next `event` from `emitter`, within `ms`. Only that event is listened to:
 * an 'error' before a 'close' doesn't reject a wait for 'close'.
 */
export function nextEvent(emitter: object, event: string, ms = 20_000): Promise<unknown[]> {
  const e = emitter as Emitter;
  let listener: ((...args: unknown[]) => void) | undefined;
  const happened = new Promise<unknown[]>((resolve) => {
    listener = (...args: unknown[]) => resolve(args);
    e.once(event, listener);
  });
  return withDeadline(happened, ms, `'${event}'`).finally(() => e.off(event, listener!));
}

export interface Received {
  data: Buffer;
  isBinary: boolean;
}

/** The next 'message' of our WebSocket or ws's (data normalised to one Buffer). */
export async function nextMessage(socket: object, ms = 20_000): Promise<Received> {
  const [data, isBinary] = await nextEvent(socket, "message", ms);
  return { data: toBuffer(data), isBinary: isBinary as boolean };
}

/**
 * Runs `send`, then resolves with the next message `receiver` gets (our WebSocket or ws's). If
 * `receiver` closes first it rejects at once, naming the close code and reason.
 */
export function replyTo(receiver: object, send: () => void, ms = 25_000): Promise<Received> {
  const e = receiver as Emitter;
  let onMessage!: (data: unknown, isBinary: unknown) => void;
  let onClose!: (code: unknown, reason: unknown) => void;
  const reply = new Promise<Received>((resolve, reject) => {
    onMessage = (data, isBinary) => resolve({ data: toBuffer(data), isBinary: isBinary as boolean });
    onClose = (code, reason) => reject(new Error(`the connection closed with ${String(code)} "${String(reason)}" before the reply came`));
    e.once("message", onMessage);
    e.once("close", onClose);
  });
  send();
  return withDeadline(reply, ms, "the reply").finally(() => {
    e.off("message", onMessage);
    e.off("close", onClose);
  });
}

function toBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  throw new TypeError(`unexpected message data ${Object.prototype.toString.call(data)}`);
}

/** Asserts that `got` is `sent`, byte for byte, with the right type; a mismatch names sizes and the first differing offset. */
export function expectSame(got: Received, sent: Uint8Array, isBinary: boolean): void {
  expect(got.isBinary, "message type (isBinary)").toBe(isBinary);
  expect(got.data.length, "message length").toBe(sent.length);
  if (!got.data.equals(sent)) {
    let i = 0;
    while (i < sent.length && got.data[i] === sent[i]) i++;
    expect.fail(`${sent.length}-byte message differs first at offset ${i}`);
  }
}

export interface CloseInfo {
  code: number;
  reason: string;
  wasClean: boolean;
}

/** Our WebSocket's 'close' (code, reason, wasClean). Call before causing the close. */
export async function closeOf(ws: WebSocket, ms = 20_000): Promise<CloseInfo> {
  const [code, reason, wasClean] = await nextEvent(ws, "close", ms);
  return { code: code as number, reason: (reason as Buffer).toString(), wasClean: wasClean as boolean };
}

/** Resolves with our client once it is open, or rejects with its handshake error. */
export function openClient(url: string, protocols?: string | string[], options: ClientOptions = {}, ms = 10_000): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, options);
  const opened = new Promise<WebSocket>((resolve, reject) => {
    ws.once("open", () => {
      ws.off("error", reject);
      resolve(ws);
    });
    ws.once("error", reject);
  });
  return withDeadline(opened, ms, `our client to open ${url}`).catch((error: unknown) => {
    ws.terminate();
    throw error;
  });
}

/** Makes `ws` (ours or ws's: same shape) echo every message with its type. */
export function echo(ws: { on(event: "message", listener: (data: Buffer, isBinary: boolean) => void): unknown; send(data: Buffer, options: { binary: boolean }): void }): void {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
}

/**
 * Buffers a WebSocket's messages and pings from the moment it is made. A peer may send right
 * after the handshake, in the same TCP segment as its 101: as with ws, those events fire
 * synchronously after 'open', before the continuation of an `await` on the open.
 */
export class Inbox {
  readonly #messages: Received[] = [];
  readonly #pings: Buffer[] = [];
  readonly #wake = new Set<() => void>();
  #closedWith: number | undefined;

  constructor(ws: WebSocket) {
    ws.on("message", (data, isBinary) => this.#push(() => this.#messages.push({ data, isBinary })));
    ws.on("ping", (data) => this.#push(() => this.#pings.push(data)));
    ws.on("close", (code) => this.#push(() => (this.#closedWith = code)));
  }

  nextMessage(ms = 20_000): Promise<Received> {
    return this.#take(this.#messages, "a message", ms);
  }

  nextPing(ms = 20_000): Promise<Buffer> {
    return this.#take(this.#pings, "a ping", ms);
  }

  #push(add: () => void): void {
    add();
    for (const wake of [...this.#wake]) wake();
  }

  #take<T>(queue: T[], what: string, ms: number): Promise<T> {
    return withDeadline(
      (async () => {
        while (queue.length === 0) {
          if (this.#closedWith !== undefined) throw new Error(`the connection closed (${this.#closedWith}) before ${what}`);
          await new Promise<void>((resolve) => {
            const wake = () => {
              this.#wake.delete(wake);
              resolve();
            };
            this.#wake.add(wake);
          });
        }
        return queue.shift()!;
      })(),
      ms,
      what,
    );
  }
}
