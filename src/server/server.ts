// A WebSocket server shaped like ws's WebSocketServer: listens itself, attaches to an
// http(s).Server, or hands upgrades over (`noServer` + `handleUpgrade`). Hardened by default:
// handshake timeout, header bounds, origin allowlist, async authentication, connection limits.
import { EventEmitter } from "node:events";
import http from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Core } from "../core/index.js";
import { sharedCorePool } from "../core/pool.js";
import { perMessageDeflateFor } from "../deflate/permessage-deflate.js";
import {
  acceptPerMessageDeflate, buildErrorResponse, buildUpgradeResponse, checkUpgradeRequest, formatExtensions, perMessageDeflateExtension,
  type PerMessageDeflateOptions, type UpgradeAccepted, type UpgradeCheckOptions, type UpgradeRequest,
} from "../handshake/index.js";
import type { SocketConnectionOptions } from "../transport/node-socket.js";
import { ReceiveBudget } from "../protocol/receive-budget.js";
import { WriteBudget } from "../transport/write-budget.js";
import { WebSocket, type ConnectionSettings } from "../websocket/websocket.js";

/** Reject a handshake from `authenticate` with this to answer a specific status (401, 403, ...). */
export class AuthenticationError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface WebSocketServerOptions extends ConnectionSettings, Omit<UpgradeCheckOptions, "handleProtocols"> {
  /** Listen on this port (0: any free one). */
  port?: number;
  /** Address to listen on with `port`. Default "127.0.0.1": pass "0.0.0.0" or "::" to serve the network. */
  host?: string;
  /** Attach to this server's 'upgrade' events. */
  server?: http.Server;
  /** Neither listen nor attach: call `handleUpgrade` yourself. */
  noServer?: boolean;
  handleProtocols?: (protocols: Set<string>, request: http.IncomingMessage) => string | false;
  /** Resolve to accept, throw (an AuthenticationError for a status) to refuse before the 101. */
  authenticate?: (request: http.IncomingMessage) => void | Promise<void>;
  /** Offer permessage-deflate (false by default, as ws: compression costs memory and CPU). */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Open connections at most; more get 503. Default 1000. */
  maxConnections?: number;
  /** Open connections per client IP at most; more get 429. Default 100. */
  maxConnectionsPerIp?: number;
  /**
   * With `port` (our own HTTP server): sockets open at once at most, upgraded or not; the
   * kernel's next ones are dropped as they are accepted. Sockets that never upgrade cost memory
   * until the handshake timeout drops them, and a flood of them would otherwise have no count.
   * Leaves room above `maxConnections` for handshakes in progress and for the 503s and 429s
   * refusals answer with. Default 2 × maxConnections.
   */
  maxSockets?: number;
  /**
   * Most bytes waiting to be written on all connections together (the server's `writeBudget`);
   * past it the connections with the largest backlogs are failed (1008) and dropped at once.
   * Default 64 MiB: what a 1 GB Raspberry Pi can spare next to 1,000 connections.
   */
  maxTotalBufferedAmount?: number;
  /**
   * Most bytes of received messages held in memory on all connections together (the server's
   * `receiveBudget`): messages being assembled (their buffers' capacity), waiting to be inflated
   * or delivered in order, inflated and not yet delivered. A connection whose growth would
   * cross it is not refused by itself: the connections holding the most are failed with 1013
   * (Try Again Later) until the total is within it. Keep it above maxMessage. Default 128 MiB:
   * eight messages of the default maximum size arriving at once, what a 1 GB Raspberry Pi can
   * spare next to the write budget.
   */
  maxTotalReceivedBytes?: number;
  /**
   * Time allowed for the request head (slowloris; with `port`, Node answers 408 and drops the
   * socket, checked at least once a second) and, after it, for `authenticate`. Default 10 s.
   */
  handshakeTimeout?: number;
  /** How long `close()` waits for clients to finish the closing handshake. Default 5 s. */
  shutdownTimeout?: number;
  /** The WASM core to use; default: the process-wide pool. */
  core?: Core;
  /** Lines for the log (refusals and limits); default: none. */
  log?: (line: string) => void;
}

export interface WebSocketServerEvents {
  connection: [ws: WebSocket, request: http.IncomingMessage];
  listening: [];
  /** The HTTP server's errors; also a connection dropped because its setup threw (only when listened to). */
  error: [error: Error];
  close: [];
  /** A handshake was refused with `status` (also logged through `log`). */
  refused: [request: http.IncomingMessage, status: number, reason: string];
}

export class WebSocketServer extends EventEmitter<WebSocketServerEvents> {
  readonly clients = new Set<WebSocket>();
  readonly options: WebSocketServerOptions;
  #server: http.Server | undefined;
  #ownsServer = false;
  #perIp = new Map<string, number>();
  /** Handshakes waiting for `authenticate`, counted (in #perIp too), that have not been answered yet. */
  #pending = new Map<Duplex, PendingHandshake>();
  #closing = false;
  /** What every connection without compression shares (made on the first connection). */
  #connectionOptions: SocketConnectionOptions | undefined;
  /** What every handshake is checked with (made on the first one). */
  #upgradeCheck: UpgradeCheckOptions | undefined;
  /** Bytes waiting to be written, counted across this server's connections. */
  readonly #writeBudget: WriteBudget;
  /** Bytes of received messages held, counted across this server's connections. */
  readonly #receiveBudget: ReceiveBudget;

  constructor(options: WebSocketServerOptions, onListening?: () => void) {
    super();
    this.options = options;
    this.#writeBudget = options.writeBudget ?? new WriteBudget(options.maxTotalBufferedAmount);
    this.#receiveBudget = options.receiveBudget ?? new ReceiveBudget(options.maxTotalReceivedBytes);
    if (options.noServer) return;
    if (options.server) {
      this.#server = options.server;
    } else if (options.port !== undefined) {
      this.#server = http.createServer(handshakeDeadlines(options.handshakeTimeout ?? 10_000), (_req, res) => {
        res.writeHead(426, { "Content-Type": "text/plain", Upgrade: "websocket" });
        res.end("This is a WebSocket endpoint\n");
      });
      this.#ownsServer = true;
      this.#server.maxConnections = options.maxSockets ?? 2 * (options.maxConnections ?? 1000);
      // Without a listener Node drops a CONNECT (it asks for a tunnel, not an upgrade) unanswered.
      this.#server.on("connect", (req: http.IncomingMessage, socket: Duplex) => {
        socket.on("error", destroySocket);
        this.#refuse(socket, 405, "a WebSocket endpoint takes GET, not CONNECT", req, { Allow: "GET" });
      });
      this.#server.listen(options.port, options.host ?? "127.0.0.1", () => {
        this.emit("listening");
        onListening?.();
      });
      this.#server.on("error", (error) => this.emit("error", error));
    } else {
      throw new TypeError("WebSocketServer needs one of `port`, `server` or `noServer: true`");
    }
    this.#server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      this.handleUpgrade(req, socket, head, (ws) => this.emit("connection", ws, req));
    });
  }

  address(): ReturnType<http.Server["address"]> {
    if (!this.#server) throw new Error("a noServer WebSocketServer has no address");
    return this.#server.address();
  }

  /** Completes (or refuses) the handshake for an 'upgrade' request and hands over the WebSocket. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, done: (ws: WebSocket, req: http.IncomingMessage) => void): void {
    socket.on("error", destroySocket);
    const refusal = this.#admissionRefusal(req);
    if (refusal) return this.#refuse(socket, refusal.status, refusal.body, req);
    const check = checkUpgradeRequest(req as UpgradeRequest, this.#checkOptions());
    if (!check.ok) return this.#refuse(socket, check.status, check.body, req, check.headers);
    const ip = req.socket.remoteAddress ?? "";
    this.#perIp.set(ip, (this.#perIp.get(ip) ?? 0) + 1);
    const authenticate = this.options.authenticate;
    if (!authenticate) return this.#accept(socket, head, req, check, ip, done);
    this.#admit(socket, req, ip);
    const accept = () => {
      // Settled already when the timer fired, the socket closed or the server closed meanwhile.
      const counted = this.#settle(socket);
      if (counted !== undefined) this.#accept(socket, head, req, check, counted, done);
    };
    const refuse = (error: unknown) => {
      const counted = this.#settle(socket);
      if (counted === undefined) return;
      this.#releaseIp(counted);
      const status = error instanceof AuthenticationError ? error.status : 401;
      this.#refuse(socket, status, error instanceof Error ? error.message : "authentication failed", req);
    };
    Promise.resolve()
      .then(() => authenticate(req))
      .then(accept, refuse);
  }

  /**
   * What every handshake is checked with, made once: a server's IncomingMessage is the request
   * itself (a copy or a closure per handshake would be garbage for the young generation).
   */
  #checkOptions(): UpgradeCheckOptions {
    if (this.#upgradeCheck) return this.#upgradeCheck;
    const { handleProtocols, ...options } = this.options;
    const check: UpgradeCheckOptions = handleProtocols
      ? { ...options, handleProtocols: (set, request) => handleProtocols(set, request as http.IncomingMessage) }
      : options;
    return (this.#upgradeCheck = Object.freeze(check));
  }

  /** A handshake that passed every check and holds the count of `ip`: answer 101 (or 503 if no core slot is left). */
  #accept(socket: Duplex, head: Buffer, req: http.IncomingMessage, check: UpgradeAccepted, ip: string, done: (ws: WebSocket, req: http.IncomingMessage) => void): void {
    socket.removeListener("error", destroySocket);
    if (socket.destroyed) return this.#releaseIp(ip);
    // Checked before the 101: once it is sent, a connection without a slot could only be dropped.
    const core = this.#coreForConnection();
    if (typeof core === "string") {
      this.#releaseIp(ip);
      return this.#refuse(socket, 503, core, req);
    }
    this.#open(core, socket, head, req, check, ip, done);
  }

  /**
   * Answers 101 and hands the socket to a WebSocket on `core`. Nothing thrown here (by a
   * 'connection' listener, a message handler fed from `head`) may leave the 'upgrade' listener:
   * it would end the process. It drops this connection and is reported instead.
   */
  #open(core: Core, socket: Duplex, head: Buffer, req: http.IncomingMessage, check: UpgradeAccepted, ip: string, done: (ws: WebSocket, req: http.IncomingMessage) => void): void {
    const options = this.options;
    const ws = new WebSocket(null);
    try {
      const offer = options.perMessageDeflate ? acceptPerMessageDeflate(check.requestedExtensions, options.perMessageDeflate === true ? {} : options.perMessageDeflate) : null;
      // zlib can't compress with an 8-bit window; a client that insists gets no compression.
      const params = offer && (offer.serverMaxWindowBits ?? 15) >= 9 ? offer : null;
      const extensions = params ? formatExtensions([perMessageDeflateExtension(params)]) : "";
      socket.write(buildUpgradeResponse({ key: check.key, protocol: check.protocol, extensions: extensions || undefined }));
      const shared = (this.#connectionOptions ??= { ...options, role: "server", writeBudget: this.#writeBudget, receiveBudget: this.#receiveBudget });
      const connectionOptions = params
        ? { ...shared, deflate: perMessageDeflateFor("server", params, options) }
        : shared;
      // Joined, not concatenated: a cons string would keep its parts (the Host header) alive.
      const url = ["ws://", check.host, req.url].join("");
      ws.attach(core, socket as Socket, head, { url, protocol: check.protocol, extensions, options: connectionOptions }, () => {
        this.#track(ws, socket, ip, req.url);
        done(ws, req);
      });
    } catch (error) {
      socket.destroy();
      // A tracked connection releases its count when it closes.
      if (!this.clients.has(ws)) this.#releaseIp(ip);
      this.#report(new Error(`dropped the connection from ${ip} ${req.url}: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
    }
  }

  /**
   * Stops accepting, answers 503 to handshakes still waiting for `authenticate`, sends 1001
   * (going away) to every client and waits up to `shutdownTimeout` for them to close, then
   * drops the rest.
   */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    for (const [socket, { req }] of this.#pending) {
      this.#releaseIp(this.#settle(socket)!);
      this.#refuse(socket, 503, "the server is shutting down", req);
    }
    const closed = [...this.clients].map((ws) => new Promise<void>((resolve) => {
      ws.once("close", () => resolve());
      ws.close(1001, "server shutting down");
    }));
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, this.options.shutdownTimeout ?? 5000).unref());
    await Promise.race([Promise.all(closed), timeout]);
    for (const ws of this.clients) ws.terminate();
    if (this.#ownsServer && this.#server) {
      const server = this.#server;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // Sockets that never upgraded (or keep-alive HTTP ones) would hold close() open.
      server.closeAllConnections();
      await stopped;
    }
    this.emit("close");
  }

  /**
   * Keeps count of an open connection. Its IP stays on its socket, and one close listener per
   * server releases it: an idle connection holds no closure of its own. (A closure made in
   * handleUpgrade would keep the request, its headers and the handshake alive as long as the
   * connection.) Only with a log does it get an error listener, naming it.
   */
  #track(ws: WebSocket, socket: Duplex, ip: string, path: string | undefined): void {
    this.clients.add(ws);
    (socket as CountedSocket)[kCountedIp] = ip;
    const log = this.options.log;
    if (log) {
      const where = `${ip} ${path}`;
      ws.on("error", (error: Error & { closeCode?: number; code?: string }) => {
        log(`closing ${where}: ${error.closeCode ?? 1006} ${error.code ?? error.name}: ${error.message}`);
      });
    }
    ws.on("close", this.#onClientClose);
  }

  /** The close listener of every connection of this server (`this` is the WebSocket). */
  readonly #onClientClose = ((server: WebSocketServer) => function (this: WebSocket): void {
    server.clients.delete(this);
    const ip = (this.socket as CountedSocket | undefined)?.[kCountedIp];
    if (ip !== undefined) server.#releaseIp(ip);
  })(this);

  /**
   * Counts a handshake waiting for `authenticate` until it is answered (see #settle). Its timer and close listener are made
   * here, where the only variables are the socket and the server: a closure made in
   * handleUpgrade would hold the request and the check result as long as it lived.
   */
  #admit(socket: Duplex, req: http.IncomingMessage, ip: string): void {
    const ms = this.options.handshakeTimeout ?? 10_000;
    const timer = setTimeout(() => this.#abandon(socket, `no answer from authenticate within the handshake timeout (${ms} ms)`), ms);
    // A client that half-closes (FIN) can't go on with a WebSocket; the server's socket (half-open
    // allowed) would not close until the timer.
    const onLeave = () => this.#abandon(socket, "the client left during authenticate");
    socket.once("end", onLeave);
    socket.once("close", onLeave);
    this.#pending.set(socket, { ip, req, timer, onLeave });
  }

  /**
   * Ends the waiting of a pending handshake, once: returns its IP, whose count the caller now
   * holds (to release it, or hand it to the connection), or undefined if it was settled before.
   */
  #settle(socket: Duplex): string | undefined {
    const pending = this.#pending.get(socket);
    if (pending === undefined) return undefined;
    this.#pending.delete(socket);
    clearTimeout(pending.timer);
    socket.removeListener("end", pending.onLeave);
    socket.removeListener("close", pending.onLeave);
    return pending.ip;
  }

  /** A pending handshake that timed out or whose client left: release its counts, drop the socket. */
  #abandon(socket: Duplex, why: string): void {
    const ip = this.#settle(socket);
    if (ip === undefined) return;
    this.#releaseIp(ip);
    socket.destroy();
    this.options.log?.(`dropped a handshake from ${ip}: ${why}`);
  }

  /** An error in one connection's setup: logged, and emitted when someone listens (never thrown). */
  #report(error: Error): void {
    this.options.log?.(error.message);
    if (this.listenerCount("error") > 0) this.emit("error", error);
  }

  /** The core for one more connection, or why there is none (to answer 503 before the 101). */
  #coreForConnection(): Core | string {
    const core = this.options.core;
    if (core) return core.freeSlots > 0 ? core : `the server is at capacity: all ${core.maxConnections} connection slots of its core are in use`;
    try {
      return sharedCorePool().acquire();
    } catch (error) {
      return `the server is at capacity: no core for another connection (${error instanceof Error ? error.message : String(error)})`;
    }
  }

  #releaseIp(ip: string): void {
    const n = (this.#perIp.get(ip) ?? 1) - 1;
    if (n > 0) this.#perIp.set(ip, n);
    else this.#perIp.delete(ip);
  }

  #admissionRefusal(req: http.IncomingMessage): { status: number; body: string } | undefined {
    if (this.#closing) return { status: 503, body: "the server is shutting down" };
    const max = this.options.maxConnections ?? 1000;
    if (this.clients.size + this.#pending.size >= max) return { status: 503, body: `the server is at its limit of ${max} connections` };
    const perIp = this.options.maxConnectionsPerIp ?? 100;
    const ip = req.socket.remoteAddress ?? "";
    if ((this.#perIp.get(ip) ?? 0) >= perIp) return { status: 429, body: `too many connections from ${ip} (limit ${perIp})` };
    return undefined;
  }

  #refuse(socket: Duplex, status: number, body: string, req: http.IncomingMessage, headers?: Record<string, string>): void {
    this.options.log?.(`refused ${req.socket.remoteAddress ?? "?"} ${req.method} ${req.url}: ${status} ${body}`);
    if (socket.writable) socket.end(buildErrorResponse(status, body, headers));
    else socket.destroy();
    this.emit("refused", req, status, body);
  }
}

interface PendingHandshake {
  ip: string;
  /** Kept only while the handshake waits (authenticate holds it meanwhile anyway). */
  req: http.IncomingMessage;
  timer: ReturnType<typeof setTimeout>;
  onLeave: () => void;
}

/** The IP an open connection counts against, kept on its socket. */
const kCountedIp = Symbol("edgews.countedIp");
type CountedSocket = Duplex & { [kCountedIp]?: string };

/** Checks for expired handshakes at least once a second (Node's default: every 30 s). */
const MAX_CHECKING_INTERVAL_MS = 1000;

/**
 * Our own HTTP server drops a socket that has not sent a whole request head within `ms`
 * (slowloris), answering 408: Node's own deadlines, checked by one timer per server instead of
 * one per socket. An upgraded socket leaves Node's list, so they never apply to a WebSocket.
 */
function handshakeDeadlines(ms: number): http.ServerOptions {
  const timeout = Math.ceil(ms);
  return { headersTimeout: timeout, requestTimeout: timeout, connectionsCheckingInterval: Math.ceil(Math.min(MAX_CHECKING_INTERVAL_MS, Math.max(1, ms / 4))) };
}

function destroySocket(this: Duplex): void {
  this.destroy();
}
