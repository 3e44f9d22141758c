// Records what a FrameParser delivers, in order, as plain values for toEqual.
import { createHash } from "node:crypto";
import { FrameParser, type Core, type ParserOptions, type ProtocolError } from "../../src/core/node.js";

/**
 * Payloads as strings: hex when short (readable diffs), a digest when long (deep-equality on
 * megabyte Buffers is slow).
 */
export function bytes(data: Uint8Array): string {
  if (data.length <= 64) return Buffer.from(data).toString("hex");
  return `${data.length} bytes, sha1 ${createHash("sha1").update(data).digest("hex")}`;
}

export type Delivered =
  | { type: "message"; data: string; isBinary: boolean; compressed: boolean }
  | { type: "ping" | "pong"; data: string }
  | { type: "close"; code: number; reason: string }
  | { type: "error"; code: string; closeCode: number };

export interface Recorder {
  parser: FrameParser;
  events: Delivered[];
  errors: ProtocolError[];
  push(...chunks: Uint8Array[]): Delivered[];
}

export function record(core: Core, options: ParserOptions): Recorder {
  const events: Delivered[] = [];
  const errors: ProtocolError[] = [];
  const parser = new FrameParser(core, options, {
    onMessage: (data, isBinary, compressed) => events.push({ type: "message", data: bytes(data), isBinary, compressed }),
    onPing: (data) => events.push({ type: "ping", data: bytes(data) }),
    onPong: (data) => events.push({ type: "pong", data: bytes(data) }),
    onClose: (code, reason) => events.push({ type: "close", code, reason }),
    onError: (error) => {
      errors.push(error);
      events.push({ type: "error", code: error.code, closeCode: error.closeCode });
    },
  });
  return {
    parser,
    events,
    errors,
    push(...chunks) {
      for (const c of chunks) parser.push(c);
      return events;
    },
  };
}

export const text = (s: string): Delivered => ({ type: "message", data: bytes(Buffer.from(s)), isBinary: false, compressed: false });
export const binary = (b: Uint8Array): Delivered => ({ type: "message", data: bytes(b), isBinary: true, compressed: false });
export const ping = (b: Uint8Array | string): Delivered => ({ type: "ping", data: bytes(Buffer.from(b)) });
export const pong = (b: Uint8Array | string): Delivered => ({ type: "pong", data: bytes(Buffer.from(b)) });
export const failure = (code: string, closeCode: number): Delivered => ({ type: "error", code, closeCode });
