// Generated answers of an evil server to our client's upgrade request, each with what the client
// must report: a valid 101 (then frames), a 101 that breaks RFC 6455 §4.1 (accept, upgrade,
// extensions, subprotocol), other statuses with every kind of body, informational responses,
// garbage, heads that never end or are cut off.
import fc from "fast-check";
import { acceptKeyOf } from "../raw-peer.js";

export type Body =
  | "none"
  | "length"
  | "chunked"
  /** Ends with the connection (no length). */
  | "until-close"
  | "bad-chunked"
  /** Never ends: a Content-Length larger than what is sent, then silence. */
  | "short-length"
  /** Never ends: a chunk every few ms. */
  | "endless-chunked"
  /** Never ends: no length, a byte now and then. */
  | "trickle";

export type HandshakeAnswer =
  /** Whether it accepts permessage-deflate is the frame stream's to say. */
  | { kind: "accept"; extra: Array<[string, string]>; lowerNames: boolean }
  | { kind: "bad-accept"; how: "missing" | "wrong" | "other key" | "twice" }
  | { kind: "bad-upgrade"; how: "no Upgrade" | "Upgrade: h2c" | "no Connection" | "Connection: close" }
  | { kind: "bad-extension"; value: string }
  | { kind: "bad-protocol"; value: string }
  | { kind: "status"; status: number; body: Body }
  | { kind: "informational"; status: 100 | 102 | 103; then: "nothing" | 403 }
  | { kind: "garbage"; bytes: Uint8Array }
  | { kind: "endless-head" }
  | { kind: "unfinished-head"; at: number }
  | { kind: "cut"; at: number; reset: boolean }
  /** The server never finishes its answer and the client gives up (`close()`) after `afterMs`. */
  | { kind: "abandoned"; afterMs: number; sent: "nothing" | "part of a head" };

/** How the client must fail: error codes it may report, and the status a WS_ERR_UNEXPECTED_STATUS must carry. */
export interface ExpectedRefusal {
  codes: RegExp;
  statusCode?: number;
}

/** The length of a plain 101's head, whatever the key (an accept value is always 28 characters). */
const PLAIN_HEAD_LENGTH = switchingProtocols("", { kind: "plain" }).length;

/** Statuses whose responses have no body (RFC 7230 §3.3.3): bytes after their head are the next response. */
const BODILESS = [204, 304];

const STATUSES = [200, 204, 301, 302, 304, 400, 401, 403, 404, 426, 429, 500, 502, 503];
const NEVER_ENDING: readonly Body[] = ["short-length", "endless-chunked", "trickle"];
const HARMLESS_HEADERS = ["Server", "Date", "X-Powered-By", "Cache-Control", "Set-Cookie"];

export function handshakeAnswerArb(): fc.Arbitrary<HandshakeAnswer> {
  const bodies: Body[] = ["none", "length", "chunked", "until-close", "bad-chunked", ...NEVER_ENDING];
  return fc.oneof(
    { weight: 12, arbitrary: fc.record({ kind: fc.constant("accept" as const), extra: fc.array(fc.tuple(fc.constantFrom(...HARMLESS_HEADERS), fc.stringMatching(/^[\x21-\x7e]{0,20}$/)), { maxLength: 3 }), lowerNames: fc.boolean() }) },
    fc.record({ kind: fc.constant("bad-accept" as const), how: fc.constantFrom("missing" as const, "wrong" as const, "other key" as const, "twice" as const) }),
    fc.record({ kind: fc.constant("bad-upgrade" as const), how: fc.constantFrom("no Upgrade" as const, "Upgrade: h2c" as const, "no Connection" as const, "Connection: close" as const) }),
    fc.record({ kind: fc.constant("bad-extension" as const), value: fc.constantFrom("x-unknown", "permessage-deflate; server_max_window_bits=7", "permessage-deflate; foo", "permessage-deflate, permessage-deflate", "permessage-deflate; ;;=") }),
    fc.record({ kind: fc.constant("bad-protocol" as const), value: fc.constantFrom("chat", "a b") }),
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("status" as const), status: fc.constantFrom(...STATUSES), body: fc.constantFrom(...bodies) }) },
    fc.record({ kind: fc.constant("informational" as const), status: fc.constantFrom(100 as const, 102 as const, 103 as const), then: fc.constantFrom("nothing" as const, 403 as const) }),
    fc.record({ kind: fc.constant("garbage" as const), bytes: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.constantFrom(...["SSH-2.0-OpenSSH_9.6\r\n", "HTTP/1.1 abc\r\n\r\n", "HTTP/2 101\r\n\r\n", "\x16\x03\x01\x00\x05"].map((s) => Buffer.from(s, "latin1")))) }),
    fc.constant({ kind: "endless-head" as const }),
    fc.record({ kind: fc.constant("unfinished-head" as const), at: fc.nat() }),
    fc.record({ kind: fc.constant("cut" as const), at: fc.nat(), reset: fc.boolean() }),
    abandonedArb,
  );
}

const abandonedArb = fc.record({ kind: fc.constant("abandoned" as const), afterMs: fc.integer({ min: 0, max: 200 }), sent: fc.constantFrom("nothing" as const, "part of a head" as const) });

/** The 101 our client must accept, for `key`, accepting permessage-deflate (without context takeover) or not. */
export function switchingProtocols(key: string, answer: Extract<HandshakeAnswer, { kind: "accept" }> | { kind: "plain" }, deflate = false): string {
  const fields: Array<[string, string]> = [
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Accept", acceptKeyOf(key)],
  ];
  if (deflate) fields.push(["Sec-WebSocket-Extensions", "permessage-deflate; server_no_context_takeover; client_no_context_takeover"]);
  if (answer.kind === "accept") fields.push(...answer.extra);
  const lower = answer.kind === "accept" && answer.lowerNames;
  return head("HTTP/1.1 101 Switching Protocols", fields.map(([n, v]) => [lower ? n.toLowerCase() : n, v]));
}

/** The bytes of a refusing or broken answer (the head, and a body that ends); see `bodyDrip` for the rest. */
export function answerBytes(key: string, answer: Exclude<HandshakeAnswer, { kind: "accept" }>): Buffer {
  switch (answer.kind) {
    case "bad-accept":
      return Buffer.from(badAccept(key, answer.how));
    case "bad-upgrade":
      return Buffer.from(badUpgrade(key, answer.how));
    case "bad-extension":
      return Buffer.from(switchingWith(key, [["Sec-WebSocket-Extensions", answer.value]]));
    case "bad-protocol":
      return Buffer.from(switchingWith(key, [["Sec-WebSocket-Protocol", answer.value]]));
    case "status":
      return Buffer.from(statusHead(answer.status, answer.body) + bodyStart(answer.body), "latin1");
    case "informational":
      return Buffer.from(head(`HTTP/1.1 ${answer.status} Informational`, []) + (answer.then === 403 ? statusHead(403, "none") : ""));
    case "garbage":
      return Buffer.from(answer.bytes);
    case "endless-head":
      return Buffer.from("HTTP/1.1 101 Switching Protocols\r\n");
    case "unfinished-head": {
      const whole = switchingProtocols(key, { kind: "plain" });
      return Buffer.from(whole.slice(0, answer.at % (whole.length - 2)));
    }
    case "cut":
      return Buffer.from(switchingProtocols(key, { kind: "plain" }).slice(0, answer.at % (PLAIN_HEAD_LENGTH + 1)));
    case "abandoned":
      return Buffer.from(answer.sent === "nothing" ? "" : "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n");
  }
}

/** What the client must report for a broken answer; undefined for a cut after the whole head (it opens). */
export function expectedRefusal(answer: Exclude<HandshakeAnswer, { kind: "accept" }>): ExpectedRefusal | undefined {
  const handshake = (code: string, statusCode?: number): ExpectedRefusal => ({ codes: new RegExp(`^${code}$`), ...(statusCode === undefined ? {} : { statusCode }) });
  switch (answer.kind) {
    case "bad-accept":
      return handshake("WS_ERR_INVALID_ACCEPT");
    case "bad-upgrade":
      return handshake("WS_ERR_INVALID_UPGRADE");
    case "bad-extension":
      return handshake("WS_ERR_UNEXPECTED_EXTENSION|WS_ERR_INVALID_EXTENSION_HEADER");
    case "bad-protocol":
      return handshake("WS_ERR_UNEXPECTED_PROTOCOL|WS_ERR_INVALID_SUBPROTOCOL");
    case "status": {
      // Node's parser may refuse a malformed chunked body, or bytes after a bodiless response,
      // before the client has read the excerpt it reports.
      const garbled = answer.body === "bad-chunked" || (BODILESS.includes(answer.status) && answer.body !== "none");
      return { codes: garbled ? /^(WS_ERR_UNEXPECTED_STATUS|HPE_\w+)$/ : /^WS_ERR_UNEXPECTED_STATUS$/, statusCode: answer.status };
    }
    case "informational":
      // With nothing after it, the handshake timeout must end the wait.
      return answer.then === 403 ? handshake("WS_ERR_UNEXPECTED_STATUS", 403) : handshake("WS_ERR_HANDSHAKE_TIMEOUT");
    case "garbage":
      return { codes: /^(HPE_\w+|ECONNRESET|WS_ERR_UNEXPECTED_STATUS)$/ };
    case "endless-head":
      return { codes: /^(HPE_HEADER_OVERFLOW|WS_ERR_HANDSHAKE_TIMEOUT)$/ };
    case "unfinished-head":
      return handshake("WS_ERR_HANDSHAKE_TIMEOUT");
    case "cut":
      return answer.at % (PLAIN_HEAD_LENGTH + 1) === PLAIN_HEAD_LENGTH ? undefined : { codes: /^(ECONNRESET|HPE_\w+)$/ };
    case "abandoned":
      return handshake("WS_ERR_INVALID_STATE");
  }
}

/** What follows the answer's bytes: nothing, the end of the connection, or a drip that never ends. */
export function answerTail(answer: Exclude<HandshakeAnswer, { kind: "accept" }>): "hold" | "end" | "reset" | "drip-chunks" | "drip-bytes" | "drip-headers" {
  if (answer.kind === "cut") return answer.reset ? "reset" : "end";
  if (answer.kind === "endless-head") return "drip-headers";
  if (answer.kind === "garbage") return "end";
  if (answer.kind !== "status") return "hold";
  if (answer.body === "until-close") return "end";
  if (answer.body === "endless-chunked") return "drip-chunks";
  if (answer.body === "trickle") return "drip-bytes";
  return "hold";
}

function head(statusLine: string, fields: Array<[string, string]>): string {
  return `${statusLine}\r\n${fields.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`;
}

function switchingWith(key: string, extra: Array<[string, string]>): string {
  return head("HTTP/1.1 101 Switching Protocols", [["Upgrade", "websocket"], ["Connection", "Upgrade"], ["Sec-WebSocket-Accept", acceptKeyOf(key)], ...extra]);
}

function badAccept(key: string, how: Extract<HandshakeAnswer, { kind: "bad-accept" }>["how"]): string {
  const fields: Array<[string, string]> = [["Upgrade", "websocket"], ["Connection", "Upgrade"]];
  if (how === "wrong") fields.push(["Sec-WebSocket-Accept", "not-the-accept-value"]);
  if (how === "other key") fields.push(["Sec-WebSocket-Accept", acceptKeyOf("dGhlIHNhbXBsZSBub25jZQ==")]);
  if (how === "twice") fields.push(["Sec-WebSocket-Accept", acceptKeyOf(key)], ["Sec-WebSocket-Accept", acceptKeyOf(key)]);
  return head("HTTP/1.1 101 Switching Protocols", fields);
}

function badUpgrade(key: string, how: Extract<HandshakeAnswer, { kind: "bad-upgrade" }>["how"]): string {
  const fields: Array<[string, string]> = [["Sec-WebSocket-Accept", acceptKeyOf(key)]];
  if (how !== "no Upgrade") fields.push(["Upgrade", how === "Upgrade: h2c" ? "h2c" : "websocket"]);
  if (how !== "no Connection") fields.push(["Connection", how === "Connection: close" ? "close" : "Upgrade"]);
  return head("HTTP/1.1 101 Switching Protocols", fields);
}

const BODY = "you may not pass";

function statusHead(status: number, body: Body): string {
  const fields: Array<[string, string]> = [["Content-Type", "text/plain"]];
  if (body === "none") fields.push(["Content-Length", "0"]);
  if (body === "length") fields.push(["Content-Length", String(BODY.length)]);
  if (body === "short-length") fields.push(["Content-Length", "100000"]);
  if (body === "chunked" || body === "bad-chunked" || body === "endless-chunked") fields.push(["Transfer-Encoding", "chunked"]);
  if (status >= 300 && status < 400) fields.push(["Location", "/elsewhere"]);
  return head(`HTTP/1.1 ${status} Refused`, fields);
}

function bodyStart(body: Body): string {
  switch (body) {
    case "none":
    case "endless-chunked":
    case "trickle":
      return "";
    case "length":
    case "until-close":
      return BODY;
    case "chunked":
      return `${BODY.length.toString(16)}\r\n${BODY}\r\n0\r\n\r\n`;
    case "bad-chunked":
      return "zz\r\nnot a chunk\r\n";
    case "short-length":
      return BODY;
  }
}
