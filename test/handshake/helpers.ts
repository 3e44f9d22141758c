// Shared by the handshake tests: `ws`'s own helpers for differential checks, and a minimal parser
// of message heads so that round trips go through the bytes.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { ExtensionOffer, IncomingHeaders } from "../../src/handshake/index.js";

const require = createRequire(import.meta.url);
// `ws`'s package.json `exports` hides lib/, so load its files by path.
const wsLib = join(dirname(require.resolve("ws/package.json")), "lib");

/** `ws`'s shape for a parsed extension header: name → offers → param → values. */
export type WsParams = Record<string, (string | true)[]>;
export type WsOffers = Record<string, WsParams[]>;
export type WsNegotiated = Record<string, string | number | true>;

export const wsExtension = require(join(wsLib, "extension.js")) as {
  parse(header: string): WsOffers;
  format(extensions: Record<string, WsNegotiated | WsNegotiated[]>): string;
};
export const wsSubprotocol = require(join(wsLib, "subprotocol.js")) as { parse(header: string): Set<string> };

interface WsPerMessageDeflate {
  offer(): WsNegotiated;
  accept(configurations: WsParams[]): WsNegotiated;
  normalizeParams(configurations: WsParams[]): WsNegotiated[];
}
export const WsPerMessageDeflate = require(join(wsLib, "permessage-deflate.js")) as new (options: object) => WsPerMessageDeflate;

/** Our parse result in `ws`'s shape, as plain JSON for comparison. */
export function toWsShape(offers: readonly ExtensionOffer[]): WsOffers {
  const out: WsOffers = {};
  for (const offer of offers) {
    const params: WsParams = {};
    for (const param of offer.params) (params[param.name] ??= []).push(param.value ?? true);
    (out[offer.name] ??= []).push(params);
  }
  return out;
}

/** What `ws` returns, or the error it throws, as a value. */
export function attempt<T>(run: () => T): { ok: true; value: T } | { ok: false; error: unknown } {
  try {
    return { ok: true, value: run() };
  } catch (error) {
    return { ok: false, error };
  }
}

export interface ParsedHead {
  startLine: string;
  headers: Record<string, string | string[]>;
  body: string;
}

/** Splits a message into start line, lower-cased headers (repeats as arrays, like Node) and body. */
export function parseHead(bytes: Uint8Array): ParsedHead {
  const text = Buffer.from(bytes).toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) throw new Error("no end of head");
  const [startLine = "", ...lines] = text.slice(0, end).split("\r\n");
  const headers: Record<string, string | string[]> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    const previous = headers[name];
    headers[name] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return { startLine, headers, body: Buffer.from(text.slice(end + 4), "latin1").toString("utf8") };
}

/** A fixed Sec-WebSocket-Key and its accept value: RFC 6455 §1.3's worked example. */
export const RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ==";
export const RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/** A valid 101 response's headers for `accept`, with overrides (`undefined` removes one). */
export function upgradeHeaders(accept: string, overrides: IncomingHeaders = {}): IncomingHeaders {
  return withOverrides({ upgrade: "websocket", connection: "Upgrade", "sec-websocket-accept": accept }, overrides);
}

export function withOverrides(base: IncomingHeaders, overrides: IncomingHeaders): IncomingHeaders {
  const out: Record<string, string | readonly string[]> = {};
  for (const [name, value] of Object.entries({ ...base, ...overrides })) if (value !== undefined) out[name] = value;
  return out;
}
