// The application's say on a handshake before the 101: edgews's `authenticate` (a promise) and
// ws's `verifyClient` (a boolean, or a callback), both turned into one outcome: admitted, or
// refused with a status, a body and headers.
import http from "node:http";
import type { OutgoingHttpHeaders } from "node:http";

/** Reject a handshake from `authenticate` with this to answer a specific status (401, 403, ...). */
export class AuthenticationError extends Error {
  readonly status: number;
  /** Extra response headers (WWW-Authenticate, ...). */
  readonly headers: Record<string, string> | undefined;
  constructor(status: number, message: string, headers?: Record<string, string>) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

/** What ws's `verifyClient` is given. */
export interface VerifyClientInfo {
  /** Origin (Sec-WebSocket-Origin from a version 8 client). */
  origin: string | undefined;
  /** The request came over TLS. */
  secure: boolean;
  req: http.IncomingMessage;
}

/** ws's asynchronous form's callback: `verified` false refuses with `code` (401), `message`, `headers`. */
export type VerifyClientCallback = (verified: boolean, code?: number, message?: string, headers?: OutgoingHttpHeaders) => void;

/** As ws: return whether to accept, or (declaring two parameters) call back with the answer. */
export type VerifyClient = ((info: VerifyClientInfo) => boolean) | ((info: VerifyClientInfo, callback: VerifyClientCallback) => void);

/**
 * Runs `verify` in the form it declares, as ws does: with one parameter its return value decides
 * now, with two its callback does. `settle` gets nothing to admit, or the refusal. An exception
 * from `verify` is the application's and goes to the caller, as in ws.
 */
export function runVerifyClient(verify: VerifyClient, info: VerifyClientInfo, settle: (refusal?: AuthenticationError) => void): void {
  if (verify.length >= 2) {
    (verify as (info: VerifyClientInfo, callback: VerifyClientCallback) => void)(info, (verified, code, message, headers) => {
      settle(verified ? undefined : refusal(code ?? 401, message, headers));
    });
    return;
  }
  settle((verify as (info: VerifyClientInfo) => boolean)(info) ? undefined : refusal(401));
}

export function verifyClientInfo(req: http.IncomingMessage, version: 13 | 8): VerifyClientInfo {
  const origin = req.headers[version === 8 ? "sec-websocket-origin" : "origin"];
  const socket = req.socket as http.IncomingMessage["socket"] & { authorized?: boolean; encrypted?: boolean };
  return { origin: Array.isArray(origin) ? origin[0] : origin, secure: Boolean(socket.authorized || socket.encrypted), req };
}

function refusal(status: number, message?: string, headers?: OutgoingHttpHeaders): AuthenticationError {
  const text = message || (http.STATUS_CODES[status] ?? "refused");
  return new AuthenticationError(status, text, headers && stringHeaders(headers));
}

function stringHeaders(headers: OutgoingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined).map(([name, v]) => [name, Array.isArray(v) ? v.join(", ") : String(v)]));
}
