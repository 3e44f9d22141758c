// The embedded MQTT broker: aedes, its sessions and retained messages persisted in LevelDB under
// the state directory, reached over edgews's WebSocketServer (subprotocol mqtt, path /mqtt, on
// the gateway's HTTP server) and over plain TCP. Every client authenticates (auth.ts) and is
// held to its role's topics; the counts go to the gateway's metrics.
import { randomBytes } from "node:crypto";
import type http from "node:http";
import net, { type AddressInfo } from "node:net";
import { join } from "node:path";
import { Aedes, type AuthenticateError, type Client } from "aedes";
import AsyncLevelPersistence from "aedes-persistence-level/asyncPersistence.js";
import { ClassicLevel } from "classic-level";
import type { Logger } from "pino";
import { WebSocketServer } from "../server/server.js";
import { createWebSocketStream } from "../transport/websocket-stream.js";
import { hashPassword, permissionsOf, verifyPassword, type Account, type Permissions } from "./auth.js";
import type { GatewayMetrics, Transport } from "./metrics.js";

/** MQTT over WebSocket's subprotocols (3.1.1/5, and 3.1). */
const MQTT_SUBPROTOCOLS = ["mqtt", "mqttv3.1"];
export const MQTT_WS_PATH = "/mqtt";
/** The username of the gateway's own bridge; its password is made anew at each start. */
const INTERNAL_USER = "edgews-gateway";
/** CONNACK return code 4 (MQTT 3.1.1 §3.2.2.3): bad user name or password. */
const BAD_CREDENTIALS = 4;

export interface EmbeddedBrokerOptions {
  stateDir: string;
  accounts: readonly Account[];
  /** "dashboard": clients without a username get the dashboard role (a loopback demo). */
  anonymous: "refuse" | "dashboard";
  base: string;
  /** The gateway's HTTP server: MQTT over WebSocket is served on it at /mqtt. */
  httpServer: http.Server;
  /** Plain TCP listener; port null: none. */
  tcp: { host: string; port: number | null };
  metrics: GatewayMetrics;
  log: Logger;
}

export interface EmbeddedBroker {
  /** The TCP listener's address, if there is one. */
  readonly tcpAddress: AddressInfo | undefined;
  /** Credentials for the gateway's own bridge (role admin). */
  readonly internal: { username: string; password: string };
  /** null when healthy, else why not. */
  problem(): string | null;
  storeProblem(): string | null;
  /** WebSocket clients closed with 1001, TCP clients disconnected, the persistence closed. */
  close(): Promise<void>;
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const db = new ClassicLevel(join(options.stateDir, "broker"));
  try {
    await db.open();
  } catch (error) {
    const cause = (error as { cause?: Error }).cause?.message ?? (error as Error).message;
    throw new Error(`cannot open the broker's store ${join(options.stateDir, "broker")}: ${cause} (is another gateway running with this stateDir?)`);
  }
  const internal = { username: INTERNAL_USER, password: randomBytes(18).toString("base64url") };
  const accounts = [...options.accounts, { username: INTERNAL_USER, role: "admin" as const, passwordHash: await hashPassword(internal.password) }];
  const access = new Access(accounts, options);
  const broker = await Aedes.createBroker({ persistence: new AsyncLevelPersistence(db), ...access.hooks() });
  const transports = new WeakMap<object, Transport>();
  countTraffic(broker, transports, options);
  const wss = serveWebSocket(broker, transports, options);
  const tcp = await serveTcp(broker, transports, options).catch(async (error: Error) => {
    await closeAll(wss, undefined, broker, db);
    throw error;
  });
  return {
    tcpAddress: tcp ? (tcp.address() as AddressInfo) : undefined,
    internal,
    problem: () => (broker.closed ? "the broker is closed" : null),
    storeProblem: () => (db.status === "open" ? null : `the broker's store is ${db.status}`),
    close: () => closeAll(wss, tcp, broker, db),
  };
}

async function closeAll(wss: WebSocketServer, tcp: net.Server | undefined, broker: Aedes, db: ClassicLevel): Promise<void> {
  await wss.close();
  const tcpClosed = tcp ? new Promise<void>((resolve) => tcp.close(() => resolve())) : Promise.resolve();
  await new Promise<void>((resolve) => broker.close(() => resolve()));
  await tcpClosed;
  await db.close();
}

/** Authentication and the per-role topic ACLs, as aedes hooks. */
class Access {
  readonly #accounts: Map<string, Account>;
  readonly #permissions = new WeakMap<Client, Permissions>();
  readonly #options: EmbeddedBrokerOptions;

  constructor(accounts: readonly Account[], options: EmbeddedBrokerOptions) {
    this.#accounts = new Map(accounts.map((a) => [a.username, a]));
    this.#options = options;
  }

  hooks() {
    const { metrics, log } = this.#options;
    return {
      authenticate: (client: Client, username: string | undefined, password: Buffer | undefined, done: (error: AuthenticateError | null, ok: boolean | null) => void) => {
        this.#check(username, password).then((permissions) => {
          if (permissions) {
            this.#permissions.set(client, permissions);
            return done(null, true);
          }
          metrics.drops.inc({ reason: "auth" });
          log.warn({ client: client.id, username }, "refused a client: bad username or password");
          done(Object.assign(new Error("bad username or password"), { returnCode: BAD_CREDENTIALS }), false);
        }, (error: Error) => done(Object.assign(error, { returnCode: BAD_CREDENTIALS }), false));
      },
      authorizePublish: (client: Client | null, packet: { topic: string }, done: (error?: Error | null) => void) => {
        if (!client || this.#permissions.get(client)?.publish(packet.topic)) return done(null);
        metrics.drops.inc({ reason: "acl_publish" });
        log.warn({ client: client.id, topic: packet.topic }, "refused a publish outside the client's topics");
        done(new Error(`not authorized to publish to ${packet.topic}`));
      },
      authorizeSubscribe: <S extends { topic: string }>(client: Client, subscription: S, done: (error: Error | null, subscription?: S | null) => void) => {
        if (this.#permissions.get(client)?.subscribe(subscription.topic)) return done(null, subscription);
        metrics.drops.inc({ reason: "acl_subscribe" });
        log.warn({ client: client.id, filter: subscription.topic }, "refused a subscription outside the client's topics");
        done(null, null);
      },
    };
  }

  async #check(username: string | undefined, password: Buffer | undefined): Promise<Permissions | undefined> {
    const { base, anonymous } = this.#options;
    if (username === undefined) return anonymous === "dashboard" && password === undefined ? permissionsOf("dashboard", "", base) : undefined;
    const account = this.#accounts.get(username);
    if (!account || !password || !(await verifyPassword(password, account.passwordHash))) return undefined;
    return permissionsOf(account.role, account.username, base);
  }
}

function countTraffic(broker: Aedes, transports: WeakMap<object, Transport>, { metrics, log }: EmbeddedBrokerOptions): void {
  const transportOf = (client: Client) => transports.get(client.conn) ?? "tcp";
  broker.on("client", (client) => metrics.connections.inc({ transport: transportOf(client) }));
  broker.on("clientDisconnect", (client) => metrics.connections.dec({ transport: transportOf(client) }));
  broker.on("publish", (packet, client) => {
    if (client) metrics.messagesIn.inc({ qos: packet.qos });
  });
  // Every delivery to a subscriber passes the forward hook: counted there.
  broker.authorizeForward = (_client, packet) => {
    metrics.messagesOut.inc({ qos: packet.qos });
    return packet;
  };
  broker.on("clientError", (client, error) => {
    metrics.drops.inc({ reason: "client_error" });
    log.debug({ client: client.id, err: error.message }, "client error");
  });
}

function serveWebSocket(broker: Aedes, transports: WeakMap<object, Transport>, { httpServer, metrics, log }: EmbeddedBrokerOptions): WebSocketServer {
  const wss = new WebSocketServer({
    server: httpServer,
    path: MQTT_WS_PATH,
    handleProtocols: (offered) => MQTT_SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  wss.on("refused", (_request, status, reason) => {
    metrics.drops.inc({ reason: "ws_refused" });
    log.debug({ status, reason }, "refused a WebSocket handshake");
  });
  wss.on("connection", (ws, request) => {
    if (!MQTT_SUBPROTOCOLS.includes(ws.protocol)) return ws.close(1002, "subprotocol mqtt required");
    metrics.track(request.socket as net.Socket);
    const stream = createWebSocketStream(ws);
    // aedes reports stream errors through 'clientError'.
    stream.on("error", () => {});
    transports.set(stream, "ws");
    broker.handle(stream, request);
  });
  return wss;
}

async function serveTcp(broker: Aedes, transports: WeakMap<object, Transport>, { tcp, metrics }: EmbeddedBrokerOptions): Promise<net.Server | undefined> {
  if (tcp.port === null) return undefined;
  const server = net.createServer((socket) => {
    metrics.track(socket);
    transports.set(socket, "tcp");
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) => reject(new Error(`cannot listen for MQTT on ${tcp.host}:${tcp.port}: ${error.message} (set mqtt.port, --mqtt-port, or null for none)`)));
    server.listen(tcp.port!, tcp.host, () => resolve());
  });
  return server;
}
