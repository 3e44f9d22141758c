// What the server answers to a malformed upgrade request: ws's status and body for each problem
// ws knows (so that clients and tests written against ws see what they expect), the check's own
// answer for the rest. The check's more specific message goes to the log and the 'refused' event.
import type { HandshakeErrorCode, UpgradeRejected } from "../handshake/index.js";

const VERSIONS = { "Sec-WebSocket-Version": "13, 8" } as const;

const WS_ANSWERS: Partial<Record<HandshakeErrorCode, readonly [status: number, body: string, headers?: Record<string, string>]>> = {
  // RFC 7231 §6.5.5: a 405 MUST carry Allow, which ws leaves out.
  WS_ERR_INVALID_METHOD: [405, "Invalid HTTP method", { Allow: "GET" }],
  WS_ERR_UPGRADE_REQUIRED: [400, "Invalid Upgrade header"],
  WS_ERR_INVALID_UPGRADE: [400, "Invalid Upgrade header"],
  WS_ERR_INVALID_KEY: [400, "Missing or invalid Sec-WebSocket-Key header"],
  WS_ERR_INVALID_VERSION: [400, "Missing or invalid Sec-WebSocket-Version header", VERSIONS],
  WS_ERR_UNSUPPORTED_VERSION: [400, "Missing or invalid Sec-WebSocket-Version header", VERSIONS],
  WS_ERR_INVALID_SUBPROTOCOL: [400, "Invalid Sec-WebSocket-Protocol header"],
  WS_ERR_INVALID_EXTENSION_HEADER: [400, "Invalid or unacceptable Sec-WebSocket-Extensions header"],
};

export interface Refusal {
  status: number;
  body: string;
  headers: Readonly<Record<string, string>>;
}

export function refusalFor(check: UpgradeRejected): Refusal {
  const answer = WS_ANSWERS[check.error.code];
  if (answer === undefined) return { status: check.status, body: check.body, headers: check.headers };
  const [status, body, headers = {}] = answer;
  return { status, body, headers };
}
