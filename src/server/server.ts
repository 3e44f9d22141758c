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
  acceptPerMessageDeflate, buildErrorResponse, checkUpgradeRequest, formatExtensions, perMessageDeflateExtension, upgradeResponseLines,
  type PerMessageDeflateOptions, type UpgradeAccepted, type UpgradeCheckOptions, type UpgradeRequest, type UpgradeRejected,
} from "../handshake/index.js";
import { isToken } from "../handshake/headers.js";
import type { SocketConnectionOptions } from "../transport/node-socket.js";
import { ReceiveBudget } from "../protocol/receive-budget.js";
import { WriteBudget } from "../transport/write-budget.js";
import { WebSocket, type ConnectionSettings } from "../websocket/websocket.js";
import { refusalFor } from "./refusals.js";
import { AuthenticationError, runVerifyClient, verifyClientInfo, type VerifyClient } from "./admission-hooks.js";

export { AuthenticationError, type VerifyClient, type VerifyClientCallback, type VerifyClientInfo } from "./admission-hooks.js";

const ONE_OF = 'One and only one of the "port", "server", or "noServer" options must be specified';
const TWICE = "server.handleUpgrade() was called more than once with the same socket, possibly due to a misconfiguration";

export interface WebSocketServerOptions extends ConnectionSettings, Omit<UpgradeCheckOptions, "handleProtocols"> {
  /** Listen on this port (0: any free one). */
  port?: number;
  /**
   * Address to listen on with `port`. Default "127.0.0.1" (ws: every address). `null`: every
   * address, as ws (Node's choice: "::" where IPv6 is available, else "0.0.0.0").
   */
  host?: string | null;
  /** With `port`: the listen backlog (Node's default when absent). */
  backlog?: number;
  /** Attach to this server's 'upgrade' events. */
  server?: http.Server;
  /** Neither listen nor attach: call `handleUpgrade` yourself. */
  noServer?: boolean;
  /**
   * Picks the subprotocol among those the client offered (called only when it offered some). As
   * in ws, a falsy answer selects none, and any other string is sent as the selection.
   */
  handleProtocols?: (protocols: Set<string>, request: http.IncomingMessage) => string | false | null | undefined;
  /** Resolve to accept, throw (an AuthenticationError for a status) to refuse before the 101. */
  authenticate?: (request: http.IncomingMessage) => void | Promise<void>;
  /** ws's hook, in its sync and async forms; runs before `authenticate`. */
  verifyClient?: VerifyClient;
  /** Keep the open connections in `clients`. Default true; false leaves `clients` undefined, as ws. */
  clientTracking?: boolean;
  /** `close()` closes the open connections (1001), as ws does not. Default true; false waits for them as ws. */
  closeClients?: boolean;
  /** The class of server-side connections: WebSocket or a subclass of it. */
  WebSocket?: typeof WebSocket;
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
   * socket, checked at least once a second) and, after it, for `authenticate` (and
   * verifyClient). Default 10 s; 0 or Infinity: none, as ws.
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
  /** The 101's lines (status line first), to add to before they are written. */
  headers: [headers: string[], request: http.IncomingMessage];
  /**
   * A malformed upgrade request (400, 405, 426). With a listener, the server leaves the answer
   * to it, as ws does: write a response to `socket` or destroy it.
   */
  wsClientError: [error: Error, socket: Duplex, request: http.IncomingMessage];
}

export class WebSocketServer extends EventEmitter<WebSocketServerEvents> {
  readonly options: WebSocketServerOptions;
  /** The open connections, counted whether `clients` shows them or not. */
  readonly #connections = new Set<WebSocket>();
  #server: http.Server | undefined;
  #ownsServer = false;
  /** Takes this server's listeners off `#server` (on close). */
  #detach: (() => void) | undefined;
  #perIp = new Map<string, number>();
  /** Handshakes admitted and counted (in #perIp too) that have not been answered yet. */
  #pending = new Map<Duplex, PendingHandshake>();
  /** Every socket handed to handleUpgrade: a second hand-over is a misconfiguration. */
  #upgraded = new WeakSet<Duplex>();
  #state: "running" | "closing" | "closed" = "running";
  #closed: Promise<void> | undefined;
  /** What every connection without compression shares (made on the first connection). */
  #connectionOptions: SocketConnectionOptions | undefined;
  /** What every handshake is checked with (made on the first one). */
  #upgradeCheck: UpgradeCheckOptions | undefined;
  /** Bytes waiting to be written, counted across this server's connections. */
  readonly #writeBudget: WriteBudget;
  /** Bytes of received messages held, counted across this server's connections. */
  readonly #receiveBudget: ReceiveBudget;

  constructor(options: WebSocketServerOptions = {}, onListening?: () => void) {
    super();
    if ([options.port != null, Boolean(options.server), Boolean(options.noServer)].filter(Boolean).length !== 1) throw new TypeError(ONE_OF);
    if (options.handshakeTimeout !== undefined && !(options.handshakeTimeout >= 0)) {
      throw new RangeError(`handshakeTimeout must be a number of ms (0 or Infinity: none), not ${String(options.handshakeTimeout)}`);
    }
    this.options = options;
    this.#writeBudget = options.writeBudget ?? new WriteBudget(options.maxTotalBufferedAmount);
    this.#receiveBudget = options.receiveBudget ?? new ReceiveBudget(options.maxTotalReceivedBytes);
    if (options.noServer) return;
    this.#ownsServer = !options.server;
    const server = options.server ?? this.#listen(options.port!, onListening);
    this.#server = server;
    this.#detach = addListeners(server, {
      listening: () => this.emit("listening"),
      error: (error: Error) => this.emit("error", error),
      upgrade: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
        this.handleUpgrade(req, socket, head, (ws) => this.emit("connection", ws, req));
      },
    });
  }

  /** The open connections; undefined with `clientTracking: false`, as in ws. */
  get clients(): Set<WebSocket> {
    return (this.options.clientTracking === false ? undefined : this.#connections) as Set<WebSocket>;
  }

  /**
   * The HTTP server it takes upgrades from: its own (`port`) or the one given (`server`).
   * Undefined with `noServer`, and from the start of `close()` (as ws lets go of it).
   */
  get httpServer(): http.Server | undefined {
    return this.#server;
  }

  /** "running"; "closing" from `close()` until its 'close' event; then "closed". */
  get state(): "running" | "closing" | "closed" {
    return this.#state;
  }

  /** The listening address; null once closed. Throws for a `noServer` server, as ws. */
  address(): ReturnType<http.Server["address"]> {
    if (this.options.noServer) throw new Error('The server is operating in "noServer" mode');
    return this.#server?.address() ?? null;
  }

  /** What every handshake is checked with, made once (a copy per handshake would be garbage for the young generation). */
  #checkOptions(): UpgradeCheckOptions {
    const refuseInvalidDeflateOffers = Boolean(this.options.perMessageDeflate) && this.options.refuseInvalidDeflateOffers;
    return (this.#upgradeCheck ??= Object.freeze({ ...this.options, path: undefined, handleProtocols: undefined, refuseInvalidDeflateOffers }));
  }

  /** Whether to take `req`'s upgrade (ws's hook: the `path` option, when given, must match). Override to route. */
  shouldHandle(req: http.IncomingMessage): boolean {
    return this.options.path === undefined || pathOf(req) === this.options.path;
  }

  /**
   * Completes (or refuses) the handshake for an 'upgrade' request and hands over the WebSocket.
   * `socket` may be any Duplex. Exceptions thrown by the application's hooks and listeners
   * (handleProtocols, verifyClient, 'headers', `done`) reach the caller, as in ws.
   */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, done: (ws: WebSocket, req: http.IncomingMessage) => void): void {
    if (this.#upgraded.has(socket)) throw new Error(TWICE);
    this.#upgraded.add(socket);
    socket.on("error", destroySocket);
    const refusal = this.#admissionRefusal(req);
    if (refusal) return this.#refuse(socket, refusal.status, refusal.body, req);
    // A server's IncomingMessage is the request itself: no copy of it per handshake.
    const check = checkUpgradeRequest(req as UpgradeRequest, this.#checkOptions());
    if (!check.ok) return this.#clientError(socket, req, check);
    // After the request's own checks (431 first, then ws's order), as ws asks shouldHandle after them.
    if (!this.shouldHandle(req)) return this.#refuse(socket, 400, "Bad Request", req, undefined, `no WebSocket endpoint at ${JSON.stringify(pathOf(req))}`);
    this.#admit(socket, req);
    this.#verify(socket, head, req, check, done);
  }

  /** Creates our own HTTP server and listens (the `port` option). */
  #listen(port: number, onListening?: () => void): http.Server {
    const options = this.options;
    const server = http.createServer(handshakeDeadlines(handshakeTimeoutOf(options)), (_req, res) => {
      const body = http.STATUS_CODES[426]!;
      res.writeHead(426, { "Content-Type": "text/plain", "Content-Length": body.length, Upgrade: "websocket" });
      res.end(body);
    });
    server.maxConnections = options.maxSockets ?? 2 * (options.maxConnections ?? 1000);
    // Without a listener Node drops a CONNECT (it asks for a tunnel, not an upgrade) unanswered.
    server.on("connect", (req: http.IncomingMessage, socket: Duplex) => {
      socket.on("error", destroySocket);
      this.#refuse(socket, 405, "a WebSocket endpoint takes GET, not CONNECT", req, { Allow: "GET" });
    });
    const host = options.host === null ? undefined : (options.host ?? "127.0.0.1");
    server.listen({ port, host, backlog: options.backlog }, onListening);
    return server;
  }

  /**
   * A malformed request: answered here as ws would (see refusals.ts), or left to the
   * 'wsClientError' listeners as ws does, with ws's message (the check's error as its cause).
   */
  #clientError(socket: Duplex, req: http.IncomingMessage, check: UpgradeRejected): void {
    const { status, body, headers } = refusalFor(check);
    // An origin outside the allowlist is the server's policy, not the client's error.
    if (check.status !== 403 && this.listenerCount("wsClientError") > 0) {
      this.emit("wsClientError", new Error(body, { cause: check.error }), socket, req);
      return;
    }
    this.#refuse(socket, status, body, req, headers, check.body);
  }

  /** Asks `verifyClient`, then `authenticate`, and goes on with the handshake if both admit it. */
  #verify(socket: Duplex, head: Buffer, req: http.IncomingMessage, check: UpgradeAccepted, done: UpgradeDone): void {
    const accept = () => this.#accept(socket, head, req, check, done);
    const refuse = (error: unknown) => this.#refuseAdmitted(socket, req, error);
    const authenticate = this.options.authenticate;
    const thenAuthenticate = () => {
      if (!authenticate) return accept();
      Promise.resolve()
        .then(() => authenticate(req))
        .then(accept, refuse);
    };
    const verify = this.options.verifyClient;
    if (!verify) return thenAuthenticate();
    runVerifyClient(verify, verifyClientInfo(req, check.version), (refusal) => (refusal ? refuse(refusal) : thenAuthenticate()));
  }

  #accept(socket: Duplex, head: Buffer, req: http.IncomingMessage, check: UpgradeAccepted, done: UpgradeDone): void {
    // Settled already when the timer fired, the socket closed or the server closed meanwhile.
    const ip = this.#settle(socket);
    if (ip === undefined) return;
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

  #refuseAdmitted(socket: Duplex, req: http.IncomingMessage, error: unknown): void {
    const ip = this.#settle(socket);
    if (ip === undefined) return;
    this.#releaseIp(ip);
    const status = error instanceof AuthenticationError ? error.status : 401;
    const headers = error instanceof AuthenticationError ? error.headers : undefined;
    this.#refuse(socket, status, error instanceof Error ? error.message : "authentication failed", req, headers);
  }

  /**
   * Answers 101 and hands the socket to a WebSocket on `core`. The application's exceptions
   * (handleProtocols, 'headers' and 'connection' listeners) go to the caller as in ws, the
   * connection as it is; our own failures drop this connection and are reported instead.
   */
  #open(core: Core, socket: Duplex, head: Buffer, req: http.IncomingMessage, check: UpgradeAccepted, ip: string, done: UpgradeDone): void {
    const protocol = this.#applicationStep(socket, ip, () => this.#selectProtocol(check.protocols, req));
    if (protocol !== undefined && !isToken(protocol)) {
      return this.#failOpen(socket, req, ip, `handleProtocols returned ${JSON.stringify(protocol)}, which is not a subprotocol name`);
    }
    const { extensions, connectionOptions } = this.#negotiate(check);
    const lines = upgradeResponseLines({ key: check.key, protocol, extensions: extensions || undefined });
    const ws = this.#applicationStep(socket, ip, () => {
      this.emit("headers", lines, req);
      return new (this.options.WebSocket ?? WebSocket)(null);
    });
    const badLine = lines.find((line) => /[\r\n\0]/.test(line));
    if (badLine !== undefined) return this.#failOpen(socket, req, ip, `a 'headers' listener added ${JSON.stringify(badLine)}: a header line may not hold CR, LF or NUL`);
    let thrown: { error: unknown } | undefined;
    try {
      socket.write(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
      // Joined, not concatenated: a cons string would keep its parts (the Host header) alive.
      const url = ["ws://", check.host, req.url ?? "/"].join("");
      ws.attach(core, socket as Socket, head, { url, protocol, extensions, options: connectionOptions }, () => {
        this.#track(ws, socket, ip, req.url);
        try {
          done(ws, req);
        } catch (error) {
          thrown = { error };
        }
      });
    } catch (error) {
      socket.destroy();
      // A tracked connection releases its count when it closes.
      if (!this.#connections.has(ws)) this.#releaseIp(ip);
      this.#report(new Error(`dropped the connection from ${ip} ${req.url}: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
    }
    if (thrown) throw thrown.error;
  }

  /** Runs the application's code before the 101: if it throws, the handshake is dropped and the exception goes on. */
  #applicationStep<T>(socket: Duplex, ip: string, step: () => T): T {
    try {
      return step();
    } catch (error) {
      this.#releaseIp(ip);
      socket.destroy();
      throw error;
    }
  }

  /** ws's selection: `handleProtocols`' answer (falsy: none), or the client's first choice. */
  #selectProtocol(offered: readonly string[], req: http.IncomingMessage): string | undefined {
    if (offered.length === 0) return undefined;
    const handle = this.options.handleProtocols;
    const chosen = handle ? handle(new Set(offered), req) : offered[0];
    return chosen ? String(chosen) : undefined;
  }

  /** The permessage-deflate answer (if offered and enabled) and the options of the connection. */
  #negotiate(check: UpgradeAccepted): { extensions: string; connectionOptions: SocketConnectionOptions } {
    const options = this.options;
    const offer = options.perMessageDeflate ? acceptPerMessageDeflate(check.requestedExtensions, options.perMessageDeflate === true ? {} : options.perMessageDeflate) : null;
    // zlib can't compress with an 8-bit window; a client that insists gets no compression.
    const params = offer && (offer.serverMaxWindowBits ?? 15) >= 9 ? offer : null;
    const extensions = params ? formatExtensions([perMessageDeflateExtension(params)]) : "";
    const shared = (this.#connectionOptions ??= { ...options, role: "server", writeBudget: this.#writeBudget, receiveBudget: this.#receiveBudget });
    const connectionOptions = params ? { ...shared, deflate: perMessageDeflateFor("server", params, options) } : shared;
    return { extensions, connectionOptions };
  }

  /** The application gave an answer that can't be sent: 500, and the reason reported. */
  #failOpen(socket: Duplex, req: http.IncomingMessage, ip: string, why: string): void {
    this.#releaseIp(ip);
    this.#refuse(socket, 500, "the server could not complete the handshake", req);
    this.#report(new Error(`refused the connection from ${ip} ${req.url}: ${why}`));
  }

  /**
   * Stops accepting and takes this server's listeners off the HTTP server; answers 503 to
   * handshakes still waiting for `authenticate`; sends 1001 (going away) to every client and
   * waits up to `shutdownTimeout` for them to close, then drops the rest (`closeClients: false`:
   * waits for them to close by themselves, as ws); closes our own HTTP server. Then 'close', and
   * `callback`, which gets an error if the server was closed already (as in ws).
   */
  close(callback?: (error?: Error) => void): Promise<void> {
    if (this.#state === "closed") {
      const error = new Error("The server is not running");
      if (callback) this.once("close", () => callback(error));
      process.nextTick(() => this.emit("close"));
      return Promise.resolve();
    }
    if (callback) this.once("close", () => callback());
    return (this.#closed ??= this.#shutDown());
  }

  async #shutDown(): Promise<void> {
    this.#state = "closing";
    this.#detach?.();
    this.#detach = undefined;
    const ownServer = this.#ownsServer ? this.#server : undefined;
    this.#server = undefined;
    for (const [socket, { req }] of this.#pending) {
      this.#releaseIp(this.#settle(socket)!);
      this.#refuse(socket, 503, "the server is shutting down", req);
    }
    await (this.options.closeClients === false ? this.#clientsGone() : this.#closeClients());
    if (ownServer) {
      const stopped = new Promise<void>((resolve) => ownServer.close(() => resolve()));
      // Sockets that never upgraded (or keep-alive HTTP ones) would hold close() open.
      ownServer.closeAllConnections();
      await stopped;
    }
    this.#state = "closed";
    this.emit("close");
  }

  async #closeClients(): Promise<void> {
    const closed = [...this.#connections].map((ws) => new Promise<void>((resolve) => {
      ws.once("close", () => resolve());
      ws.close(1001, "server shutting down");
    }));
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, this.options.shutdownTimeout ?? 5000).unref());
    await Promise.race([Promise.all(closed), timeout]);
    for (const ws of this.#connections) ws.terminate();
  }

  async #clientsGone(): Promise<void> {
    await Promise.all([...this.#connections].map((ws) => new Promise<void>((resolve) => ws.once("close", () => resolve()))));
  }

  /**
   * Keeps count of an open connection. Its IP stays on its socket, and one close listener per
   * server releases it: an idle connection holds no closure of its own. (A closure made in
   * handleUpgrade would keep the request, its headers and the handshake alive as long as the
   * connection.) Only with a log does it get an error listener, naming it.
   */
  #track(ws: WebSocket, socket: Duplex, ip: string, path: string | undefined): void {
    this.#connections.add(ws);
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
    server.#connections.delete(this);
    const ip = (this.socket as CountedSocket | undefined)?.[kCountedIp];
    if (ip !== undefined) server.#releaseIp(ip);
  })(this);

  /**
   * Counts a handshake until it is answered (see #settle). Its timer and close listener are made
   * here, where the only variables are the socket and the server: a closure made in
   * handleUpgrade would hold the request and the check result as long as it lived.
   */
  #admit(socket: Duplex, req: http.IncomingMessage): void {
    const ip = req.socket.remoteAddress ?? "";
    this.#perIp.set(ip, (this.#perIp.get(ip) ?? 0) + 1);
    const ms = handshakeTimeoutOf(this.options);
    const timer = ms === undefined ? undefined : setTimeout(() => this.#abandon(socket, `no answer from authenticate within the handshake timeout (${ms} ms)`), ms);
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
    // After the event's other listeners: a verifyClient watching the same 'end' finds the socket
    // as the client left it (ws leaves it alone until it would complete the upgrade).
    process.nextTick(() => socket.destroy());
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
    if (this.#state !== "running") return { status: 503, body: "the server is shutting down" };
    const max = this.options.maxConnections ?? 1000;
    if (this.#connections.size + this.#pending.size >= max) return { status: 503, body: `the server is at its limit of ${max} connections` };
    const perIp = this.options.maxConnectionsPerIp ?? 100;
    const ip = req.socket.remoteAddress ?? "";
    if ((this.#perIp.get(ip) ?? 0) >= perIp) return { status: 429, body: `too many connections from ${ip} (limit ${perIp})` };
    return undefined;
  }

  /** Answers `status` with `body`; the log and the 'refused' event get `detail` (what exactly was wrong). */
  #refuse(socket: Duplex, status: number, body: string, req: http.IncomingMessage, headers?: Readonly<Record<string, string>>, detail = body): void {
    this.options.log?.(`refused ${req.socket.remoteAddress ?? "?"} ${req.method} ${req.url}: ${status} ${detail}`);
    if (socket.writable) socket.end(this.#errorResponse(status, body, headers));
    else socket.destroy();
    this.emit("refused", req, status, detail);
  }

  /** The refusal's bytes. One HTTP can't carry (a verifyClient's status 200, a Content-Length header) is a 500, reported. */
  #errorResponse(status: number, body: string, headers?: Readonly<Record<string, string>>): Buffer {
    try {
      return buildErrorResponse(status, body, headers);
    } catch (error) {
      this.#report(new Error(`could not refuse with ${status}: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
      return buildErrorResponse(500, "the server could not complete the handshake");
    }
  }
}

type UpgradeDone = (ws: WebSocket, req: http.IncomingMessage) => void;

interface PendingHandshake {
  ip: string;
  /** Kept only while the handshake waits (authenticate holds it meanwhile anyway). */
  req: http.IncomingMessage;
  timer: ReturnType<typeof setTimeout> | undefined;
  onLeave: () => void;
}

/** The IP an open connection counts against, kept on its socket. */
const kCountedIp = Symbol("edgews.countedIp");
type CountedSocket = Duplex & { [kCountedIp]?: string };

/** The request's path, without the query. */
function pathOf(req: http.IncomingMessage): string {
  const url = req.url ?? "/";
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}

/** Adds `listeners` to `emitter`; returns what takes them off again. */
function addListeners(emitter: EventEmitter, listeners: Record<string, (...args: any[]) => void>): () => void {
  for (const [event, listener] of Object.entries(listeners)) emitter.on(event, listener);
  return () => {
    for (const [event, listener] of Object.entries(listeners)) emitter.removeListener(event, listener);
  };
}

function destroySocket(this: Duplex): void {
  this.destroy();
}

/** The handshake timeout in ms, or undefined for none. */
function handshakeTimeoutOf(options: WebSocketServerOptions): number | undefined {
  const ms = options.handshakeTimeout ?? 10_000;
  return ms > 0 && Number.isFinite(ms) ? ms : undefined;
}

/** Checks for expired handshakes at least once a second (Node's default: every 30 s). */
const MAX_CHECKING_INTERVAL_MS = 1000;

/**
 * Our own HTTP server drops a socket that has not sent a whole request head within `ms`
 * (slowloris), answering 408: Node's own deadlines, checked by one timer per server instead of
 * one per socket. An upgraded socket leaves Node's list, so they never apply to a WebSocket.
 * Without a handshake timeout Node's defaults stay.
 */
function handshakeDeadlines(ms: number | undefined): http.ServerOptions {
  if (ms === undefined) return {};
  const timeout = Math.ceil(ms);
  return { headersTimeout: timeout, requestTimeout: timeout, connectionsCheckingInterval: Math.ceil(Math.min(MAX_CHECKING_INTERVAL_MS, Math.max(1, ms / 4))) };
}
