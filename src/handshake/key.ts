// Sec-WebSocket-Key and Sec-WebSocket-Accept (RFC 6455 §4.1, §4.2.2).
import { hash, randomBytes } from "node:crypto";

/** RFC 6455 §1.3: the GUID both ends append to the key. */
export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// Base64 of exactly 16 bytes: 22 symbols and "==". Like `ws`, the two pad bits of the last symbol
// are not required to be zero (RFC 4648 §3.5 lets decoders accept either).
const KEY = /^[+/0-9A-Za-z]{22}==$/;

/**
 * RFC 6455 §4.2.1: "A |Sec-WebSocket-Key| header field with a base64-encoded ... value that, when
 * decoded, is 16 bytes in length."
 */
export function isValidKey(key: string): boolean {
  return KEY.test(key);
}

/**
 * RFC 6455 §4.1: "The nonce MUST be selected randomly for each connection" and "MUST be a nonce
 * consisting of a randomly selected 16-byte value that has been base64-encoded"; §10.3 asks for a
 * strong source of entropy, hence the CSPRNG.
 */
export function generateKey(): string {
  return randomBytes(16).toString("base64");
}

/** RFC 6455 §4.2.2: base64(SHA-1(key + GUID)), the value of |Sec-WebSocket-Accept|. */
export function acceptKey(key: string): string {
  // One call, no Hash object per handshake (Node 20.12+; the package needs 20.15).
  return hash("sha1", key + WEBSOCKET_GUID, "base64");
}
