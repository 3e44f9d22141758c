// Sec-WebSocket-Extensions (RFC 6455 §9.1, RFC 7692 §5):
//   extension-list = 1#extension
//   extension = extension-token *( ";" extension-param )
//   extension-param = token [ "=" (token | quoted-string) ]
import { HandshakeError, quote } from "./errors.js";
import { isToken, Scanner } from "./headers.js";

export interface ExtensionParam {
  readonly name: string;
  /** Absent when the parameter has no value; a quoted value arrives unquoted and unescaped. */
  readonly value?: string;
}

/** One element of the list: an offer in a request, an accepted extension in a response. */
export interface ExtensionOffer {
  readonly name: string;
  /** In header order, duplicates kept, so that negotiation can reject them (RFC 7692 §5). */
  readonly params: readonly ExtensionParam[];
}

/**
 * Parses a `Sec-WebSocket-Extensions` value into its elements, in header order. Accepts exactly
 * what `ws`'s extension.js `parse` accepts, with one deliberate difference: leading and trailing
 * whitespace is ignored, where `ws` throws (RFC 7230 §3.2.4 excludes it from the field value; `ws`
 * never sees it because Node's parser strips it). So, like `ws`: no empty list elements, no
 * whitespace around "=", no empty quoted strings. Throws `WS_ERR_INVALID_EXTENSION_HEADER`.
 */
export function parseExtensions(value: string): ExtensionOffer[] {
  const scanner = new Scanner(value, "Sec-WebSocket-Extensions", "WS_ERR_INVALID_EXTENSION_HEADER");
  const offers: ExtensionOffer[] = [];
  do {
    const name = scanner.token("an extension name");
    const params: ExtensionParam[] = [];
    scanner.ows();
    while (scanner.eat(";")) {
      scanner.ows();
      const param = scanner.token("a parameter name");
      if (scanner.eat("=")) {
        params.push({ name: param, value: scanner.peek() === '"' ? scanner.quotedToken() : scanner.token("a parameter value") });
      } else {
        params.push({ name: param });
      }
      scanner.ows();
    }
    offers.push({ name, params });
  } while (scanner.next());
  return offers;
}

/**
 * Formats elements as a `Sec-WebSocket-Extensions` value, separated as `ws` separates them
 * ("; " and ", "). Values are always tokens (quoting adds nothing, §9.1), so they go unquoted.
 */
export function formatExtensions(offers: readonly ExtensionOffer[]): string {
  return offers
    .map((offer) => [checkToken("extension name", offer.name), ...offer.params.map(formatParam)].join("; "))
    .join(", ");
}

function formatParam(param: ExtensionParam): string {
  const name = checkToken("extension parameter name", param.name);
  return param.value === undefined ? name : `${name}=${checkToken(`value of extension parameter ${quote(name)}`, param.value)}`;
}

function checkToken(what: string, value: string): string {
  if (!isToken(value)) throw new HandshakeError("WS_ERR_INVALID_EXTENSION_HEADER", `Invalid ${what} ${quote(value)}: it must be an RFC 7230 token`);
  return value;
}
