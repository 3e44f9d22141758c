// Sec-WebSocket-Protocol (RFC 6455 §4.1, §4.3, §11.3.4).
import { HandshakeError, quote } from "./errors.js";
import { isToken, Scanner } from "./headers.js";

/**
 * Checks the subprotocols a client offers. RFC 6455 §4.1: "The elements that comprise this value
 * MUST be non-empty strings with characters in the range U+0021 to U+007E not including separator
 * characters as defined in [RFC2616] and MUST all be unique strings."
 */
export function checkSubprotocols(protocols: readonly string[]): void {
  const seen = new Set<string>();
  for (const protocol of protocols) {
    if (typeof protocol !== "string") throw new HandshakeError("WS_ERR_INVALID_SUBPROTOCOL", `Invalid subprotocol ${String(protocol)}: it must be a string`);
    if (!isToken(protocol)) throw new HandshakeError("WS_ERR_INVALID_SUBPROTOCOL", `Invalid subprotocol ${quote(protocol)}: it must be an RFC 7230 token`);
    if (seen.has(protocol)) throw new HandshakeError("WS_ERR_INVALID_SUBPROTOCOL", `Subprotocol ${quote(protocol)} is offered more than once`);
    seen.add(protocol);
  }
}

/**
 * Parses a client's `Sec-WebSocket-Protocol` value (`1#token`) in order, accepting exactly what
 * `ws`'s subprotocol.js `parse` accepts: no empty elements, no duplicates.
 */
export function parseSubprotocols(value: string): string[] {
  const scanner = new Scanner(value, "Sec-WebSocket-Protocol", "WS_ERR_INVALID_SUBPROTOCOL");
  const protocols: string[] = [];
  do {
    protocols.push(scanner.token("a subprotocol name"));
    scanner.ows();
  } while (scanner.next());
  checkSubprotocols(protocols);
  return protocols;
}
