// An in-process MQTT broker for tests: aedes (npm) behind our own WebSocketServer, each
// connection bridged to aedes through createWebSocketStream. Listens on 127.0.0.1, port 0.
import type { AddressInfo } from "node:net";
import { Aedes } from "aedes";
import type { WebSocketServer } from "../../src/index.js";
import { createWebSocketStream } from "../../src/transport/websocket-stream.js";
import { startServer } from "./net.js";

/** The subprotocols MQTT over WebSocket uses (MQTT 3.1.1/5, and 3.1). */
const MQTT_SUBPROTOCOLS = ["mqtt", "mqttv3.1"];

export interface AedesServerOptions {
  /** Accept or refuse a CONNECT's credentials (refused: CONNACK "not authorized"). Default: accept all. */
  authenticate?: (username: string | undefined, password: Buffer | undefined) => boolean;
  /** Listen on this port (a restart on the port of a closed server); default: one the OS picks. */
  port?: number;
}

export interface AedesServer {
  /** `ws://127.0.0.1:port` (any path works). */
  url: string;
  port: number;
  broker: Aedes;
  wss: WebSocketServer;
  /** Closes the WebSocket server (1001 to every client) and the broker. */
  close(): Promise<void>;
}

/**
 * Starts aedes behind our WebSocketServer. A client that offers no MQTT subprotocol is closed
 * with 1002, so that a client bug shows up instead of hanging (Mosquitto ignores such clients).
 */
export async function startAedesServer(options: AedesServerOptions = {}): Promise<AedesServer> {
  const authenticate = options.authenticate;
  const broker = await Aedes.createBroker({
    ...(authenticate ? { authenticate: (_client, username, password, done) => done(null, authenticate(username, password)) } : {}),
  });
  let wss: WebSocketServer;
  try {
    ({ wss } = await startServer({
      handleProtocols: (offered) => MQTT_SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
    }, options.port));
  } catch (error) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw error;
  }
  wss.on("connection", (ws, request) => {
    if (!MQTT_SUBPROTOCOLS.includes(ws.protocol)) {
      ws.close(1002, "subprotocol mqtt required");
      return;
    }
    const stream = createWebSocketStream(ws);
    // aedes reports stream errors through its 'clientError'/'connectionError' events.
    stream.on("error", () => {});
    broker.handle(stream, request);
  });
  const port = (wss.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    broker,
    wss,
    close: () =>
      (closing ??= (async () => {
        await wss.close();
        await new Promise<void>((resolve) => broker.close(() => resolve()));
      })()),
  };
}
