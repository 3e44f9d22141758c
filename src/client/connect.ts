// The client's opening handshake over Node's http(s).request: the pure checks live in
// src/handshake/, this file moves the bytes and hands the upgraded socket to the WebSocket.
import http from "node:http";
import type https from "node:https";
import type { Socket } from "node:net";
import { CoreError, type Core } from "../core/index.js";
import { sharedCorePool } from "../core/pool.js";
import { perMessageDeflateFor, type PerMessageDeflate } from "../deflate/permessage-deflate.js";
import { loadHttps } from "./lazy-tls.js";
import { openTunnel, proxyFor } from "./proxy.js";
import { createClientRequest, INVALID_EXTENSIONS, verifyServerResponse, type ClientRequest } from "../handshake/client.js";
import { HandshakeError } from "../handshake/errors.js";
import { formatExtensions } from "../handshake/extensions.js";
import type { UserHeaders } from "../handshake/headers.js";
import { offerPerMessageDeflate, perMessageDeflateExtension, type PerMessageDeflateOptions } from "../handshake/permessage-deflate.js";
import type { ConnectionSettings, WebSocket } from "../websocket/websocket.js";

/**
 * Options of Node's `https.request` passed through as `ws` passes them: `agent`, `auth`,
 * `createConnection`, `lookup`, `family`, `localAddress`, and every TLS option (`ca`, `cert`,
 * `key`, `pfx`, `passphrase`, `servername`, `rejectUnauthorized`, `checkServerIdentity`, ...).
 * What the handshake itself decides (host, port, path, method, headers) is not taken from them.
 */
export type RequestPassThrough = Omit<https.RequestOptions, "host" | "hostname" | "port" | "path" | "method" | "headers" | "protocol" | "socketPath" | "setHost" | "timeout" | "signal">;

export interface ClientOptions extends ConnectionSettings, RequestPassThrough {
  /** Extra request headers (Authorization, Cookie, ...; Host and Origin too, as in `ws`). */
  headers?: UserHeaders;
  origin?: string;
  /**
   * Give up when the handshake takes longer: one deadline for all of it, up to `open` or the
   * error (proxy CONNECT, TLS, every redirect, and at most 200 ms more of a refusal's body after
   * its head). Default 10 s; 0 or Infinity: no limit (ws's default).
   */
  handshakeTimeout?: number;
  /** Offer permessage-deflate. Default true (as ws's client). */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Follow 3xx redirects to another ws/wss/http/https URL (within the one `handshakeTimeout`). Default false. */
  followRedirects?: boolean;
  /** Redirects followed at most. Default 10. */
  maxRedirects?: number;
  /** Sec-WebSocket-Version: 13 (default) or 8, as ws allows. */
  protocolVersion?: number;
  /** Called with the upgrade request instead of `req.end()`, to write to it first (as in `ws`); it must end it. */
  finishRequest?: (request: http.ClientRequest, ws: WebSocket) => void;
  /**
   * An http:// proxy to tunnel through with CONNECT, or false for none. Default: HTTPS_PROXY
   * (wss) or HTTP_PROXY (ws) from the environment, unless NO_PROXY matches the host.
   */
  proxy?: string | false;
  /** The WASM core to use; default: the process-wide pool. */
  core?: Core;
}

/** Bytes of a refusal's body kept for the error message. */
const EXCERPT_BYTES = 512;
/**
 * How long a refusal's body may take after its head. Servers send the two together; a body that
 * trickles or never ends (a Content-Length larger than what is sent, endless chunks) must not
 * hold the failure back. (`ws` does not read the body at all.)
 */
const EXCERPT_WAIT_MS = 200;

/**
 * Runs the opening handshake for `ws`, then attaches the socket (or fails `ws`). Returns what
 * abandons it: whatever is in progress (proxy tunnel, request, socket) is destroyed at once, and
 * `ws` hears nothing more from it.
 */
export function startHandshake(ws: WebSocket, address: string | URL, protocols: string | string[] | undefined, options: ClientOptions): () => void {
  // Like a browser's constructor, a bad URL or option throws here, synchronously.
  const target = prepare(address, protocols, options);
  ws.connectsTo(target.request.url);
  const handshake = new Handshake(ws, protocols, options, target.request);
  handshake.connect(target);
  return () => handshake.abandon();
}

interface Target {
  request: ClientRequest;
  /** The CONNECT proxy to go through, if any. */
  proxy: URL | undefined;
}

/** The request for `address` and the proxy to reach it through. Throws HandshakeError on bad input. */
function prepare(address: string | URL, protocols: string | string[] | undefined, options: ClientOptions): Target {
  const deflateOptions = typeof options.perMessageDeflate === "object" ? options.perMessageDeflate : {};
  const offer = options.perMessageDeflate === false ? undefined : offerPerMessageDeflate(deflateOptions);
  const { origin, headers, protocolVersion } = options;
  const request = createClientRequest({ url: address, protocols, origin, headers, extensions: offer, protocolVersion });
  return { request, proxy: proxyFor(new URL(request.url), options.proxy) };
}

/**
 * One opening handshake under one deadline (`handshakeTimeout`) from the start to `open` or a
 * reported failure: the proxy's tunnel, TLS, every redirect and a refusal's body all count.
 * It ends once, either way; whatever is still in progress then is aborted.
 */
class Handshake {
  readonly #ws: WebSocket;
  readonly #protocols: string | string[] | undefined;
  readonly #options: ClientOptions;
  readonly #abort = new AbortController();
  readonly #deadline: number;
  readonly #timer: ReturnType<typeof setTimeout> | undefined;
  #ended = false;
  /** Where the first request went (host and port, or socket path): credentials go nowhere else. */
  readonly #origin: RequestOrigin;
  /** The current request's URL and what it waits for, for the timeout's message. */
  #url = "";
  #waitingFor = "";

  constructor(ws: WebSocket, protocols: string | string[] | undefined, options: ClientOptions, first: ClientRequest) {
    this.#ws = ws;
    this.#origin = originOf(first);
    this.#protocols = protocols;
    this.#options = options;
    const ms = options.handshakeTimeout ?? 10_000;
    // As ws: 0 (or Infinity) sets no limit.
    if (ms === 0 || ms === Infinity) {
      this.#deadline = Infinity;
      return;
    }
    this.#deadline = performance.now() + ms;
    this.#timer = setTimeout(() => {
      const detail = `Opening handshake with ${this.#url} timed out after ${ms} ms waiting for ${this.#waitingFor}`;
      this.#fail(new HandshakeError("WS_ERR_HANDSHAKE_TIMEOUT", detail, { message: "Opening handshake has timed out" }));
    }, ms);
  }

  connect({ request, proxy }: Target): void {
    this.#url = request.url;
    if (!proxy) return this.#send(request, undefined);
    this.#waitingFor = `a tunnel from the proxy ${proxy.host}`;
    openTunnel(proxy, request.hostname, request.port, request.secure, requestOptionsOf(this.#options), this.#abort.signal).then(
      outsidePromise((socket: Socket) => this.#send(request, socket)),
      outsidePromise((error: Error) => this.#fail(error)),
    );
  }

  /** Sends the upgrade request, over `tunnel` when a proxy opened one. */
  #send(request: ClientRequest, tunnel: Socket | undefined): void {
    if (this.#ended) return void tunnel?.destroy();
    this.#waitingFor = "the server's response";
    const options = this.#options;
    const lib = request.secure && !tunnel ? loadHttps() : http;
    const req = lib.request({
      // Node's own options (TLS, agent, auth, lookup, ...) as `ws` passes them; the handshake's after.
      ...requestOptionsOf(options),
      host: request.hostname,
      // As ws: the URL's port as written (a string), else the scheme's default.
      port: new URL(request.url).port || request.port,
      socketPath: request.socketPath,
      path: request.path,
      method: "GET",
      headers: Object.fromEntries(request.headers.map(([name, value]) => [name, value])),
      setHost: false,
      ...connectionOf(options, tunnel),
    });
    const abort = () => req.destroy();
    this.#abort.signal.addEventListener("abort", abort, { once: true });
    req.on("error", (error) => this.#fail(error));
    req.on("response", (res) => this.#onResponse(request, req, res));
    req.on("upgrade", (res, socket: Socket, head: Buffer) => {
      this.#abort.signal.removeEventListener("abort", abort);
      this.#onUpgrade(request, res, socket, head);
    });
    if (this.#ws.redirects > 0) this.#ws.emit("redirect", request.url, req);
    if (options.finishRequest) options.finishRequest(req, this.#ws);
    else req.end();
  }

  /**
   * A response other than 101: a redirect to follow, the application's to read (it listens for
   * 'unexpected-response', as in `ws`), or a refusal to report with its body's start.
   */
  #onResponse(request: ClientRequest, req: http.ClientRequest, res: http.IncomingMessage): void {
    const statusCode = res.statusCode ?? 0;
    const location = res.headers.location;
    if (this.#options.followRedirects && statusCode >= 300 && statusCode < 400 && location) {
      req.destroy();
      return this.#redirect(request.url, location, statusCode);
    }
    // The outcome is known; only the excerpt is still to come, by the deadline at the latest.
    clearTimeout(this.#timer);
    if (this.#ws.listenerCount("unexpected-response") > 0) {
      // The request and response are the application's now; close() or terminate() still abandon them.
      this.#ws.emit("unexpected-response", req, res);
      return;
    }
    readExcerpt(res, Math.min(EXCERPT_WAIT_MS, this.#deadline - performance.now())).then(outsidePromise((bodyExcerpt: string) => {
      req.destroy();
      try {
        verifyServerResponse(request, { statusCode, statusMessage: res.statusMessage, headers: res.headers, bodyExcerpt });
      } catch (error) {
        return this.#fail(error as Error);
      }
      // A 101 that Node did not take for an upgrade passes the check, yet no socket came with it.
      this.#fail(new HandshakeError("WS_ERR_UNEXPECTED_STATUS", `Unexpected response ${statusCode} without an upgrade`, { message: `Unexpected server response: ${statusCode}`, statusCode }));
    }));
  }

  #redirect(from: string, location: string, statusCode: number): void {
    const maxRedirects = this.#options.maxRedirects ?? 10;
    // Counted before the check, as ws counts them: one over the limit when it fails.
    if (this.#ws.countRedirect() > maxRedirects) {
      const detail = `Too many redirects (more than ${maxRedirects}) from ${from}`;
      return this.#fail(new HandshakeError("WS_ERR_UNEXPECTED_STATUS", detail, { message: "Maximum redirects exceeded", statusCode }));
    }
    const base = from.replace(/^ws/, "http");
    try {
      // A Location that isn't a URL, or one with another scheme, is reported by prepare().
      const target = URL.canParse(location, base) ? new URL(location, base) : location;
      const options = this.#ws.listenerCount("redirect") > 0 ? this.#options : optionsForRedirect(this.#options, this.#origin, target);
      const next = prepare(target, this.#protocols, options);
      this.#ws.connectsTo(next.request.url);
      this.connect(next);
    } catch (error) {
      this.#fail(error as Error);
    }
  }

  #onUpgrade(request: ClientRequest, res: http.IncomingMessage, socket: Socket, head: Buffer): void {
    const options = this.#options;
    if (!this.#ended) this.#ws.emit("upgrade", res);
    // Closed by its owner meanwhile or by an 'upgrade' listener (close() or terminate() while CONNECTING): it must not open.
    if (this.#ended || this.#ws.readyState !== this.#ws.CONNECTING) {
      socket.destroy();
      this.#stop();
      return;
    }
    let deflate: PerMessageDeflate | undefined;
    let result: ReturnType<typeof verifyServerResponse>;
    let core: Core;
    try {
      result = verifyServerResponse(request, { statusCode: res.statusCode ?? 0, headers: res.headers });
      deflate = acceptedDeflate(result, options);
      core = coreWithFreeSlot(options);
    } catch (error) {
      socket.destroy();
      return this.#fail(error as Error);
    }
    this.#stop();
    const extensions = result.perMessageDeflate ? formatExtensions([perMessageDeflateExtension(result.perMessageDeflate)]) : "";
    this.#ws.attach(core, socket, head, { protocol: result.protocol, extensions, options: { ...options, role: "client", deflate, compressThreshold: compressThresholdOf(options) } });
  }

  /** Its WebSocket was closed while CONNECTING: stop now, without a word to it. */
  abandon(): void {
    this.#stop();
  }

  /** Ends the handshake, once (false if it had ended), aborting whatever is still in progress. */
  #stop(): boolean {
    if (this.#ended) return false;
    this.#ended = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
    return true;
  }

  #fail(error: Error): void {
    if (this.#stop()) this.#ws.failHandshake(error);
  }
}

/** The permessage-deflate state the server's answer asks for, if it accepted the offer. */
function acceptedDeflate(result: ReturnType<typeof verifyServerResponse>, options: ClientOptions): PerMessageDeflate | undefined {
  const params = result.perMessageDeflate;
  if (!params) return undefined;
  try {
    return perMessageDeflateFor("client", params, options);
  } catch (error) {
    const detail = `The server's permessage-deflate parameters can't be honoured: ${(error as Error).message}`;
    throw new HandshakeError("WS_ERR_UNEXPECTED_EXTENSION", detail, { message: INVALID_EXTENSIONS });
  }
}

/** The size from which messages are compressed: `compressThreshold`, or ws's `perMessageDeflate.threshold`. */
function compressThresholdOf(options: ClientOptions): number | undefined {
  return options.compressThreshold ?? (typeof options.perMessageDeflate === "object" ? options.perMessageDeflate.threshold : undefined);
}

/** The core for this connection; checked before attaching, which can't be undone halfway. */
function coreWithFreeSlot(options: ClientOptions): Core {
  const core = options.core ?? sharedCorePool().acquire();
  if (core.freeSlots === 0) {
    throw new CoreError(`all ${core.maxConnections} connection slots of the client's core are in use: raise its maxConnections or close connections`);
  }
  return core;
}

/** Node's request options among the client's: all of them, as `ws` passes them (see RequestPassThrough). */
function requestOptionsOf(options: ClientOptions): RequestPassThrough {
  const { headers: _headers, finishRequest: _finish, ...rest } = options;
  return rest;
}

/** What makes the connection: a proxy's tunnel, the caller's agent or createConnection, or a fresh socket. */
function connectionOf(options: ClientOptions, tunnel: Socket | undefined): Pick<http.RequestOptions, "agent" | "createConnection"> {
  // Node uses createConnection only without an agent (agent: false still makes one).
  if (tunnel) return { agent: undefined, createConnection: () => tunnel };
  if (options.agent !== undefined) return { agent: options.agent };
  if (options.createConnection) return { agent: undefined, createConnection: options.createConnection };
  return { agent: false };
}

interface RequestOrigin {
  secure: boolean;
  /** host:port, or a ws+unix: URL's socket path. */
  place: string;
}

function originOf(request: ClientRequest): RequestOrigin {
  return { secure: request.secure, place: request.socketPath ?? `${request.hostname}:${request.port}` };
}

/** Headers that carry credentials: they never follow a redirect to another host. */
const CREDENTIAL_HEADERS = new Set(["authorization", "cookie", "proxy-authorization"]);

/**
 * The options for a redirect's request. As `ws` (when nothing listens for 'redirect'): on a change
 * of host or port (or socket), or from wss: to ws:, the caller's credentials stay behind:
 * Authorization, Cookie and Proxy-Authorization headers, the `auth` option and the new URL's userinfo.
 */
function optionsForRedirect(options: ClientOptions, origin: RequestOrigin, target: URL | string): ClientOptions {
  if (typeof target === "string") return options;
  const next = createClientRequest({ url: target });
  const same = originOf(next);
  if (same.place === origin.place && (same.secure || !origin.secure)) return options;
  target.username = "";
  target.password = "";
  const headers = Object.fromEntries(Object.entries(options.headers ?? {}).filter(([name]) => !CREDENTIAL_HEADERS.has(name.toLowerCase())));
  return { ...options, headers, auth: undefined };
}

/**
 * Runs `fn` on the next tick instead of inside a promise's reaction: what the application's
 * listeners throw ('error', 'close', 'open') then surfaces as an uncaught exception, as with ws,
 * not as an unhandled rejection.
 */
function outsidePromise<T>(fn: (value: T) => void): (value: T) => void {
  return (value) => process.nextTick(fn, value);
}

/**
 * The start of a refusal's body (EXCERPT_BYTES at most), for the error message: what arrived by
 * the end of the body or by `waitMs`, whichever comes first.
 */
function readExcerpt(res: http.IncomingMessage, waitMs: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = () => {
      clearTimeout(timer);
      res.removeListener("data", onData);
      resolve(Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString("utf8"));
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= EXCERPT_BYTES) finish();
    };
    const timer = setTimeout(finish, Math.max(0, waitMs));
    res.on("data", onData);
    res.once("end", finish);
    res.once("error", finish);
    res.once("close", finish);
  });
}
