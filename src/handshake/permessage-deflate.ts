// permessage-deflate parameter negotiation (RFC 7692 §5, §7.1). Options and decisions follow `ws`'s
// permessage-deflate.js (`offer`, `acceptAsServer`, `acceptAsClient`, `normalizeParams`); where
// they differ the comment at the spot says why.
import { HandshakeError, quote } from "./errors.js";
import { formatExtensions, type ExtensionOffer, type ExtensionParam } from "./extensions.js";

export const PERMESSAGE_DEFLATE = "permessage-deflate";

/** What one side is willing to do; the names and meanings are `ws`'s. */
export interface PerMessageDeflateOptions {
  /** Client: ask the server not to keep its context. Server: `true` always sends it, `false` refuses it. */
  serverNoContextTakeover?: boolean;
  /** Client: announce it won't keep its context. Server: `true` always asks it of the client. */
  clientNoContextTakeover?: boolean;
  /** Client: a number asks the server for at most that window. Server: a number uses it, `false` refuses a limit. */
  serverMaxWindowBits?: boolean | number;
  /**
   * Client: a number limits its own window and says so; `true` or absent announces support for the
   * parameter without a value; `false` leaves it out. Server: a number asks the client for at most
   * that window (declining clients that can't); `false` never sends the parameter.
   */
  clientMaxWindowBits?: boolean | number;
  /**
   * Most time, in ms, one received message may spend being inflated (zlib work, not waiting for
   * it); beyond it the connection fails with 1009. Bounds the work of messages that inflate to
   * little at great cost; timed on the clock, so it leaves room for a loaded machine. Default
   * 10000. 0: no limit.
   */
  maxInflateTime?: number;
  /** As ws's: messages below this many bytes go uncompressed (the connection's `compressThreshold`, which wins). */
  threshold?: number;
}

/** The negotiated configuration. An absent window size means the default, 15. */
export interface PerMessageDeflateParams {
  readonly serverNoContextTakeover: boolean;
  readonly clientNoContextTakeover: boolean;
  readonly serverMaxWindowBits?: number;
  readonly clientMaxWindowBits?: number;
}

/** One element's parameters; only an offer's `client_max_window_bits` may lack a value (`true`). */
interface Params {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits?: number;
  clientMaxWindowBits?: number | true;
}

type Role = "offer" | "response";

/** The client's offer for `options`, as a `Sec-WebSocket-Extensions` value. */
export function offerPerMessageDeflate(options: PerMessageDeflateOptions = {}): string {
  const { serverMaxWindowBits, clientMaxWindowBits } = checkOptions(options);
  // `ws` sends a bare "server_max_window_bits" for `true`, which no server may accept (RFC 7692
  // §7.1.2.1 gives the parameter a value in offers); edgews refuses the option instead.
  if (serverMaxWindowBits === true) {
    throw new HandshakeError("WS_ERR_INVALID_OPTION", "serverMaxWindowBits in an offer must be a number from 8 to 15: server_max_window_bits always carries a value");
  }
  const offer: Params = {
    serverNoContextTakeover: options.serverNoContextTakeover === true,
    clientNoContextTakeover: options.clientNoContextTakeover === true,
  };
  if (serverMaxWindowBits !== undefined && serverMaxWindowBits !== false) offer.serverMaxWindowBits = serverMaxWindowBits;
  if (clientMaxWindowBits !== false) offer.clientMaxWindowBits = clientMaxWindowBits ?? true;
  return formatExtensions([toExtension(offer)]);
}

/**
 * Server side: the configuration answering the first acceptable permessage-deflate offer among
 * `offers` (all of a request's extension elements, in order), or `null` when none is acceptable.
 * Send it back with `perMessageDeflateExtension`.
 *
 * Unlike `ws`, an invalid offer is declined rather than failing the handshake with 400, and a
 * later valid offer may still be accepted. RFC 7692 §5: "A server MUST decline an extension
 * negotiation offer for this extension if any of the following conditions are met: ...", and
 * declining an extension leaves the connection to proceed without it (RFC 6455 §9.1). A server
 * may refuse such a request as `ws` does instead: see `checkPerMessageDeflateOffers`.
 */
export function acceptPerMessageDeflate(offers: readonly ExtensionOffer[], options: PerMessageDeflateOptions = {}): PerMessageDeflateParams | null {
  const opts = checkOptions(options);
  for (const element of offers) {
    if (element.name !== PERMESSAGE_DEFLATE) continue;
    const offer = tryReadParams(element);
    if (offer !== undefined && acceptable(offer, opts)) return respond(offer, opts);
  }
  return null;
}

/**
 * Client side: checks the server's permessage-deflate element against what was offered (`offers`,
 * the request's extension elements; the response must fit one of its permessage-deflate offers)
 * and returns the configuration to run. Throws `WS_ERR_UNEXPECTED_EXTENSION`.
 */
export function checkPerMessageDeflateResponse(response: ExtensionOffer, offers: readonly ExtensionOffer[]): PerMessageDeflateParams {
  if (response.name !== PERMESSAGE_DEFLATE) throw unexpected("response", `${quote(response.name)} is not ${PERMESSAGE_DEFLATE}`);
  const accepted = readParams(response, "response");
  let mismatch = "it was not offered";
  for (const element of offers) {
    if (element.name !== PERMESSAGE_DEFLATE) continue;
    const offer = tryReadParams(element);
    if (offer === undefined) continue;
    const problem = responseMismatch(offer, accepted);
    if (problem === undefined) {
      return result({
        ...accepted,
        // RFC 7692 §7.1.1.2: by offering client_no_context_takeover "a client informs the peer server
        // of a hint that even if the server doesn't include the "client_no_context_takeover"
        // extension parameter in the corresponding extension negotiation response to the offer, the
        // client is not going to use context takeover." `ws` forgets its hint when not echoed.
        clientNoContextTakeover: accepted.clientNoContextTakeover || offer.clientNoContextTakeover,
        // Like `ws`: when the server leaves client_max_window_bits out, the client keeps to the limit
        // it offered for itself.
        clientMaxWindowBits: accepted.clientMaxWindowBits ?? offer.clientMaxWindowBits,
      });
    }
    mismatch = problem;
  }
  throw unexpected("response", `${quote(formatExtensions([response]))} does not answer the offer: ${mismatch}`);
}

/** The element announcing `params`, for a server's `Sec-WebSocket-Extensions`. */
export function perMessageDeflateExtension(params: PerMessageDeflateParams): ExtensionOffer {
  return toExtension(params);
}

function checkOptions(options: PerMessageDeflateOptions): PerMessageDeflateOptions {
  for (const name of ["serverMaxWindowBits", "clientMaxWindowBits"] as const) {
    const bits = options[name];
    if (typeof bits === "number" && !(Number.isInteger(bits) && bits >= 8 && bits <= 15)) {
      throw new HandshakeError("WS_ERR_INVALID_OPTION", `${name} must be an integer from 8 to 15, or a boolean; got ${bits}`);
    }
  }
  return options;
}

// `ws`'s acceptAsServer conditions, one per parameter.
function acceptable(offer: Params, opts: PerMessageDeflateOptions): boolean {
  // The client asks the server not to keep context, and this server is set to refuse that.
  if (offer.serverNoContextTakeover && opts.serverNoContextTakeover === false) return false;
  // The client limits the server's window: refused outright, or below the window this server uses.
  if (offer.serverMaxWindowBits !== undefined) {
    if (opts.serverMaxWindowBits === false) return false;
    if (typeof opts.serverMaxWindowBits === "number" && opts.serverMaxWindowBits > offer.serverMaxWindowBits) return false;
  }
  // This server wants to limit the client's window: the client must support the parameter, and a
  // value it offered is its own upper bound, which the answer may not exceed.
  if (typeof opts.clientMaxWindowBits === "number") {
    if (offer.clientMaxWindowBits === undefined) return false;
    if (offer.clientMaxWindowBits !== true && opts.clientMaxWindowBits > offer.clientMaxWindowBits) return false;
  }
  return true;
}

function respond(offer: Params, opts: PerMessageDeflateOptions): PerMessageDeflateParams {
  let clientMaxWindowBits: number | undefined;
  if (typeof opts.clientMaxWindowBits === "number") clientMaxWindowBits = opts.clientMaxWindowBits;
  else if (opts.clientMaxWindowBits !== false && offer.clientMaxWindowBits !== true) clientMaxWindowBits = offer.clientMaxWindowBits;
  return result({
    // RFC 7692 §7.1.1.1: "A server accepts an extension negotiation offer that includes the
    // "server_no_context_takeover" extension parameter by including the
    // "server_no_context_takeover" extension parameter in the corresponding extension negotiation
    // response". An offered client_no_context_takeover is echoed, as `ws` does.
    serverNoContextTakeover: offer.serverNoContextTakeover || opts.serverNoContextTakeover === true,
    clientNoContextTakeover: offer.clientNoContextTakeover || opts.clientNoContextTakeover === true,
    // An offered limit is kept (`acceptable` made sure this server's own is not larger).
    serverMaxWindowBits: typeof opts.serverMaxWindowBits === "number" ? opts.serverMaxWindowBits : offer.serverMaxWindowBits,
    clientMaxWindowBits,
  });
}

/**
 * Why `accepted` is not an acceptance of `offer`, or `undefined` when it is. Beyond `ws`, which only
 * checks client_max_window_bits, a response must also honour the limits the client asked of the
 * server: an edgews client offers them to bound its inflate memory, so a server that ignores them
 * is answering an offer the client did not make (RFC 7692 §5: the client fails the connection if it
 * "does not support the configuration that the response represents").
 */
function responseMismatch(offer: Params, accepted: Params): string | undefined {
  // RFC 7692 §7.1.2.2: "If a received extension negotiation offer doesn't have the
  // "client_max_window_bits" extension parameter, the corresponding extension negotiation response
  // to the offer MUST NOT include the "client_max_window_bits" extension parameter."
  if (accepted.clientMaxWindowBits !== undefined && offer.clientMaxWindowBits === undefined) {
    return "client_max_window_bits was not offered";
  }
  if (typeof offer.clientMaxWindowBits === "number" && typeof accepted.clientMaxWindowBits === "number" && accepted.clientMaxWindowBits > offer.clientMaxWindowBits) {
    return `client_max_window_bits=${accepted.clientMaxWindowBits} exceeds the offered ${offer.clientMaxWindowBits}`;
  }
  // RFC 7692 §7.1.2.1: a server accepts an offer with server_max_window_bits by including it in the
  // response "with the same or smaller value as the offer".
  if (offer.serverMaxWindowBits !== undefined && (accepted.serverMaxWindowBits ?? 15) > offer.serverMaxWindowBits) {
    return `server_max_window_bits=${offer.serverMaxWindowBits} was asked for and the response allows ${accepted.serverMaxWindowBits ?? 15}`;
  }
  // RFC 7692 §7.1.1.1, quoted in `respond`.
  if (offer.serverNoContextTakeover && !accepted.serverNoContextTakeover) {
    return "server_no_context_takeover was asked for and the response leaves it out";
  }
  return undefined;
}

function tryReadParams(element: ExtensionOffer): Params | undefined {
  const offer = readOffer(element);
  return offer instanceof HandshakeError ? undefined : offer;
}

function readOffer(element: ExtensionOffer): Params | HandshakeError {
  try {
    return readParams(element, "offer");
  } catch (error) {
    if (error instanceof HandshakeError) return error;
    throw error;
  }
}

/**
 * Server side, for a server that refuses (400) what RFC 7692 §5 has it decline, as `ws` does:
 * throws `WS_ERR_INVALID_EXTENSION_HEADER` naming the problem of the first permessage-deflate
 * offer among `offers` with an unknown parameter, an invalid value or a repeated parameter.
 */
export function checkPerMessageDeflateOffers(offers: readonly ExtensionOffer[]): void {
  for (const element of offers) {
    if (element.name !== PERMESSAGE_DEFLATE) continue;
    const offer = readOffer(element);
    if (offer instanceof HandshakeError) throw new HandshakeError("WS_ERR_INVALID_EXTENSION_HEADER", offer.message);
  }
}

/**
 * An element's parameters, checked as RFC 7692 §5 requires of both sides: it MUST decline (server)
 * or fail on (client) an element with "an extension parameter not defined for use in an offer"
 * (resp. "in a response"), "an extension parameter with an invalid value", or "multiple extension
 * parameters with the same name".
 */
function readParams(element: ExtensionOffer, role: Role): Params {
  const params: Params = { serverNoContextTakeover: false, clientNoContextTakeover: false };
  const seen = new Set<string>();
  for (const param of element.params) {
    if (seen.has(param.name)) throw unexpected(role, `parameter ${quote(param.name)} appears more than once`);
    seen.add(param.name);
    switch (param.name) {
      case "server_no_context_takeover":
        params.serverNoContextTakeover = noValue(role, param);
        break;
      case "client_no_context_takeover":
        params.clientNoContextTakeover = noValue(role, param);
        break;
      case "server_max_window_bits":
        params.serverMaxWindowBits = windowBits(role, param);
        break;
      case "client_max_window_bits":
        // RFC 7692 §7.1.2.2: in an offer "This parameter has no value or a decimal integer value";
        // in a response it has a value.
        params.clientMaxWindowBits = param.value === undefined && role === "offer" ? true : windowBits(role, param);
        break;
      default:
        throw unexpected(role, `unknown parameter ${quote(param.name)}`);
    }
  }
  return params;
}

function noValue(role: Role, param: ExtensionParam): true {
  if (param.value !== undefined) throw unexpected(role, `parameter ${param.name} takes no value, got ${quote(param.value)}`);
  return true;
}

// RFC 7692 §7.1.2: "a decimal integer value without leading zeroes between 8 to 15". `ws` reads the
// value with `+value`, which also lets through "010", "+10", "0xA" and "1e1"; edgews does not.
const WINDOW_BITS = /^(?:8|9|1[0-5])$/;

function windowBits(role: Role, param: ExtensionParam): number {
  if (param.value === undefined || !WINDOW_BITS.test(param.value)) {
    throw unexpected(role, `parameter ${param.name} needs a value from 8 to 15, got ${param.value === undefined ? "none" : quote(param.value)}`);
  }
  return Number(param.value);
}

function unexpected(role: Role, problem: string): HandshakeError {
  return new HandshakeError("WS_ERR_UNEXPECTED_EXTENSION", `Invalid ${PERMESSAGE_DEFLATE} ${role}: ${problem}`);
}

function result(params: Params): PerMessageDeflateParams {
  const { serverMaxWindowBits, clientMaxWindowBits } = params;
  return {
    serverNoContextTakeover: params.serverNoContextTakeover,
    clientNoContextTakeover: params.clientNoContextTakeover,
    ...(serverMaxWindowBits === undefined ? {} : { serverMaxWindowBits }),
    ...(typeof clientMaxWindowBits === "number" ? { clientMaxWindowBits } : {}),
  };
}

function toExtension(params: Params): ExtensionOffer {
  const list: ExtensionParam[] = [];
  if (params.serverNoContextTakeover) list.push({ name: "server_no_context_takeover" });
  if (params.clientNoContextTakeover) list.push({ name: "client_no_context_takeover" });
  if (params.serverMaxWindowBits !== undefined) list.push({ name: "server_max_window_bits", value: String(params.serverMaxWindowBits) });
  if (params.clientMaxWindowBits === true) list.push({ name: "client_max_window_bits" });
  else if (params.clientMaxWindowBits !== undefined) list.push({ name: "client_max_window_bits", value: String(params.clientMaxWindowBits) });
  return { name: PERMESSAGE_DEFLATE, params: list };
}
