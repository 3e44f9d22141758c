// The implementations we compare with. ws's internals are CommonJS, untyped, and outside its
// package "exports", so they are required by file path (the same module instances ws's own
// index.js loads). Which paths ws takes is decided when it is first loaded: in a ws-js child,
// ws-js-preload.ts has removed buffer.isUtf8 and WS_NO_BUFFER_UTIL / WS_NO_UTF_8_VALIDATE are set.
import buffer from "node:buffer";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { WsMode } from "./types.js";

const require = createRequire(import.meta.url);
const wsDir = dirname(require.resolve("ws/package.json"));

export interface WsReceiverOptions {
  isServer: boolean;
  maxPayload: number;
  extensions: Record<string, unknown>;
  binaryType: "nodebuffer";
  skipUTF8Validation: boolean;
}

/** ws's Receiver: a Writable whose write() parses synchronously (allowSynchronousEvents defaults to true). */
export interface WsReceiver {
  write(chunk: Buffer): boolean;
  on(event: "message", listener: (data: Buffer, isBinary: boolean) => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
}

type Unmask = (buf: Buffer, mask: Buffer) => void;
type Validate = (buf: Buffer) => boolean;

export const ws = {
  version: (require("ws/package.json") as { version: string }).version,
  Receiver: (require("ws") as { Receiver: new (options: WsReceiverOptions) => WsReceiver }).Receiver,
  /** What ws's Receiver unmasks with (lib/buffer-util.js). */
  unmask: (require(join(wsDir, "lib/buffer-util.js")) as { unmask: Unmask }).unmask,
  /** What ws's Receiver validates text and close reasons with (lib/validation.js). */
  isValidUtf8: (require(join(wsDir, "lib/validation.js")) as { isValidUTF8: Validate }).isValidUTF8,
};

export const bufferutil = require("bufferutil") as { unmask: Unmask };
export const utf8Validate = require("utf-8-validate") as Validate;

/** buffer.isUtf8 (simdutf), looked up when asked: a ws-js child has removed it. */
export function isUtf8(): Validate {
  const fn = (buffer as { isUtf8?: Validate }).isUtf8;
  if (!fn) throw new Error("buffer.isUtf8 is not available in this process (ws-js child?)");
  return fn;
}

const isNative = (fn: unknown) => typeof fn === "function" && /\[native code\]/.test(Function.prototype.toString.call(fn));

/**
 * The helpers ws really picked. In pure-JS mode its exports are the JS functions themselves
 * (`_unmask`, `_isValidUTF8`); with native helpers they are wrappers that call them below a size.
 */
export function wsMode(): { mask: WsMode; utf8: WsMode; detail: string } {
  const mask: WsMode = ws.unmask.name === "_unmask" ? "js" : "native";
  const utf8: WsMode = ws.isValidUtf8.name === "_isValidUTF8" ? "js" : "native";
  const maskBy = mask === "js" ? "JS _unmask" : isNative(bufferutil.unmask) ? "bufferutil (native) from 32 B" : "bufferutil (JS fallback!)";
  const utf8By = utf8 === "js" ? "JS _isValidUTF8" : typeof (buffer as { isUtf8?: unknown }).isUtf8 === "function" ? "buffer.isUtf8 from 24 B" : "utf-8-validate from 32 B";
  return { mask, utf8, detail: `ws ${ws.version}: unmask by ${maskBy}, UTF-8 by ${utf8By}` };
}

/** Throws unless ws took the paths `mode` stands for, so a mislabelled baseline can't slip by. */
export function assertWsMode(mode: WsMode): void {
  const got = wsMode();
  if (got.mask !== mode || got.utf8 !== mode) throw new Error(`expected ws in ${mode} mode, got ${got.detail}`);
  if (mode === "native" && !isNative(bufferutil.unmask)) throw new Error("bufferutil loaded its JS fallback, not the native addon");
}
