// The client's opening handshake over Node's http(s).request: the pure checks live in
// src/handshake/, this file moves the bytes and hands the upgraded socket to the WebSocket.
import http from "node:http";
import type { Socket } from "node:net";
import type { Core } from "../core/index.js";
import { sharedCorePool } from "../core/pool.js";
import { PerMessageDeflate } from "../deflate/permessage-deflate.js";
import { loadHttps } from "./lazy-tls.js";
import { openTunnel, proxyFor } from "./proxy.js";
import { createClientRequest, verifyServerResponse, type ClientRequest } from "../handshake/client.js";
import { HandshakeError } from "../handshake/errors.js";
import { formatExtensions } from "../handshake/extensions.js";
import type { UserHeaders } from "../handshake/headers.js";
import { offerPerMessageDeflate, perMessageDeflateExtension, type PerMessageDeflateOptions } from "../handshake/permessage-deflate.js";
import type { ConnectionSettings, WebSocket } from "../websocket/websocket.js";

export interface ClientOptions extends ConnectionSettings {
  /** Extra request headers (Authorization, Cookie, ...). */
  headers?: UserHeaders;
  origin?: string;
  /** Give up when the handshake takes longer. Default 10 s. */
  handshakeTimeout?: number;
  /** Offer permessage-deflate. Default true (as ws's client). */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Follow 3xx redirects to another ws/wss/http/https URL. Default false. */
  followRedirects?: boolean;
  /** Redirects followed at most. Default 10. */
  maxRedirects?: number;
  // TLS, passed to https.request.
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
  /**
   * An http:// proxy to tunnel through with CONNECT, or false for none. Default: HTTPS_PROXY
   * (wss) or HTTP_PROXY (ws) from the environment, unless NO_PROXY matches the host.
   */
  proxy?: string | false;
  /** The WASM core to use; default: the process-wide pool. */
  core?: Core;
}

/** Runs the opening handshake for `ws`, then attaches the socket (or fails `ws`). */
export function startHandshake(ws: WebSocket, address: string | URL, protocols: string | string[] | undefined, options: ClientOptions, redirects = 0): void {
  // Like a browser's constructor, a bad URL or option throws here, synchronously.
  const deflateOptions = typeof options.perMessageDeflate === "object" ? options.perMessageDeflate : {};
  const offer = options.perMessageDeflate === false ? undefined : offerPerMessageDeflate(deflateOptions);
  const request = createClientRequest({ url: address, protocols, origin: options.origin, headers: options.headers, extensions: offer });
  const proxy = proxyFor(new URL(request.url), options.proxy);
  if (!proxy) return sendRequest(ws, request, undefined, protocols, options, redirects);
  openTunnel(proxy, request.hostname, request.port, request.secure, tlsOptionsOf(options), options.handshakeTimeout ?? 10_000).then(
    (socket) => sendRequest(ws, request, socket, protocols, options, redirects),
    (error: Error) => ws.failHandshake(error),
  );
}

/** Sends the upgrade request, over `tunnel` when a proxy opened one. */
function sendRequest(ws: WebSocket, request: ClientRequest, tunnel: Socket | undefined, protocols: string | string[] | undefined, options: ClientOptions, redirects: number): void {
  const lib = request.secure && !tunnel ? loadHttps() : http;
  const req = lib.request({
    host: request.hostname,
    port: request.port,
    path: request.path,
    method: "GET",
    headers: Object.fromEntries(request.headers.map(([name, value]) => [name, value])),
    setHost: false,
    ...tlsOptionsOf(options),
    // Node uses createConnection only without an agent (agent: false still makes one).
    ...(tunnel ? { agent: undefined, createConnection: () => tunnel } : { agent: false }),
  });
  const timer = setTimeout(() => {
    req.destroy(new HandshakeError("WS_ERR_UNEXPECTED_STATUS", `Opening handshake with ${request.url} timed out after ${options.handshakeTimeout ?? 10_000} ms`));
  }, options.handshakeTimeout ?? 10_000);
  const fail = (error: Error) => {
    clearTimeout(timer);
    ws.failHandshake(error);
  };
  req.on("error", fail);
  req.on("response", (res) => {
    clearTimeout(timer);
    const location = res.headers.location;
    if (options.followRedirects && res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && location) {
      res.resume();
      req.destroy();
      if (redirects >= (options.maxRedirects ?? 10)) {
        fail(new HandshakeError("WS_ERR_UNEXPECTED_STATUS", `Too many redirects (more than ${options.maxRedirects ?? 10}) from ${request.url}`, { statusCode: res.statusCode }));
        return;
      }
      startHandshake(ws, new URL(location, request.url.replace(/^ws/, "http")), protocols, options, redirects + 1);
      return;
    }
    readExcerpt(res).then((bodyExcerpt) => {
      try {
        verifyServerResponse(request, { statusCode: res.statusCode ?? 0, statusMessage: res.statusMessage, headers: res.headers, bodyExcerpt });
      } catch (error) {
        fail(error as Error);
        return;
      }
      fail(new HandshakeError("WS_ERR_UNEXPECTED_STATUS", `Unexpected response ${res.statusCode}`));
    });
  });
  req.on("upgrade", (res, socket: Socket, head: Buffer) => {
    clearTimeout(timer);
    let result: ReturnType<typeof verifyServerResponse>;
    try {
      result = verifyServerResponse(request, { statusCode: res.statusCode ?? 0, headers: res.headers });
    } catch (error) {
      socket.destroy();
      fail(error as Error);
      return;
    }
    const params = result.perMessageDeflate;
    let deflate: PerMessageDeflate | undefined;
    try {
      deflate = params ? new PerMessageDeflate({ role: "client", params, maxMessage: options.maxMessage ?? options.maxPayload ?? 16 << 20 }) : undefined;
    } catch (error) {
      socket.destroy();
      fail(new HandshakeError("WS_ERR_UNEXPECTED_EXTENSION", `The server's permessage-deflate parameters can't be honoured: ${(error as Error).message}`));
      return;
    }
    const extensions = params ? formatExtensions([perMessageDeflateExtension(params)]) : "";
    ws.attach(options.core ?? sharedCorePool().acquire(), socket, head, { protocol: result.protocol, extensions, options: { ...options, role: "client", deflate } });
  });
  req.end();
}

function tlsOptionsOf(options: ClientOptions) {
  const { ca, cert, key, rejectUnauthorized, servername } = options;
  return { ca, cert, key, rejectUnauthorized, servername };
}

/** The first 512 bytes of a refusal's body, for the error message. */
function readExcerpt(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = () => resolve(Buffer.concat(chunks).subarray(0, 512).toString("utf8"));
    res.on("data", (chunk: Buffer) => {
      if (size < 512) chunks.push(chunk);
      size += chunk.length;
      if (size >= 512) {
        res.destroy();
        finish();
      }
    });
    res.on("end", finish);
    res.on("error", finish);
    res.on("close", finish);
  });
}
