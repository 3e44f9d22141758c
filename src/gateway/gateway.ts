// `edgews gateway` as a library: the HTTP server (/healthz, /metrics, dashboard), the embedded
// broker (or an external one) and the serial bridge, started in that order and stopped in the
// reverse: the bridge first (devices offline, its state "offline", its store closed), then the
// broker (WebSocket clients closed with 1001, sessions and retained messages on disk), then HTTP.
import { mkdir } from "node:fs/promises";
import type http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Logger } from "pino";
import { startBridge, type Bridge, type BridgeStatus } from "../bridge/index.js";
import { accountsFrom } from "./auth.js";
import { MQTT_WS_PATH, startEmbeddedBroker, type EmbeddedBroker } from "./broker.js";
import type { GatewayConfig } from "./config.js";
import { createHttpServer, type Health } from "./http.js";
import { GatewayMetrics } from "./metrics.js";
import { startSystemdNotifier } from "./watchdog.js";

/** The bridge's client id: the same across restarts, so the broker keeps its session. */
const BRIDGE_CLIENT_ID = "edgews-gateway-bridge";

export interface GatewayOptions {
  config: GatewayConfig;
  log: Logger;
  /** Where passwords named by passwordEnv, EDGEWS_MQTT_PASSWORD and systemd's NOTIFY_SOCKET/WATCHDOG_USEC are read. Default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface Gateway {
  /** http://HOST:PORT/ — dashboard, /healthz, /metrics. */
  readonly httpUrl: string;
  /** The broker the bridge and the dashboard use: ws://HOST:PORT/mqtt, or the external one. */
  readonly brokerUrl: string;
  /** mqtt://HOST:PORT of the embedded broker's TCP listener, if any. */
  readonly mqttUrl: string | undefined;
  readonly bridge: Bridge | undefined;
  stop(): Promise<void>;
}

export async function startGateway({ config, log, env = process.env }: GatewayOptions): Promise<Gateway> {
  await mkdir(config.stateDir, { recursive: true });
  let bridge: Bridge | undefined;
  let reconnects = 0;
  const metrics = new GatewayMetrics({ bridge: () => bridge?.status(), bridgeReconnects: () => reconnects, stateDir: config.stateDir });
  let broker: EmbeddedBroker | undefined;
  const health = (): Health => ({
    broker: broker ? broker.problem() : bridge ? externalProblem(bridge.status()) : null,
    bridge: bridge ? bridgeProblem(bridge.status()) : null,
    store: broker?.storeProblem() ?? null,
  });
  const server = createHttpServer({ health, registry: metrics.registry, dashboard: config.dashboard, log });
  const httpAddress = await listen(server, config.http.host, config.http.port);
  const stops: Array<() => Promise<void>> = [() => closeHttp(server)];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  try {
    if (!config.broker) {
      const accounts = await accountsFrom(config.auth.users, env);
      broker = await startEmbeddedBroker({
        stateDir: config.stateDir, accounts, anonymous: config.auth.anonymous, base: config.bridge.base, httpServer: server, tcp: config.mqtt, metrics, log: log.child({ part: "broker" }),
      });
      stops.push(() => broker!.close());
    }
    const brokerUrl = config.broker?.url ?? `ws://${hostForUrl(httpAddress)}${MQTT_WS_PATH}`;
    if (config.bridge.ports.length > 0) {
      const credentials = broker ? broker.internal : { username: config.broker?.username, password: env.EDGEWS_MQTT_PASSWORD };
      bridge = await startBridge({
        url: brokerUrl,
        // aedes speaks MQTT 3.1.1; an external broker, as configured.
        protocolVersion: config.broker?.protocolVersion ?? 4,
        clientId: BRIDGE_CLIENT_ID,
        ...(credentials.username !== undefined ? { username: credentials.username } : {}),
        ...(credentials.password !== undefined ? { password: credentials.password } : {}),
        base: config.bridge.base,
        store: join(config.stateDir, "bridge.store"),
        ports: config.bridge.ports,
        serial: { baudRate: config.bridge.baudRate },
        telemetryQos: config.bridge.telemetryQos,
        homeAssistant: config.bridge.homeAssistant,
        log: (level, message) => log[level]({ part: "bridge" }, message),
      });
      bridge.client.on("reconnect", () => reconnects++);
      const running = bridge;
      stops.push(() => running.stop());
    }
    // Fed while the process's own parts work: an unplugged device or a broker away is waited out, not restarted.
    const notifier = startSystemdNotifier(() => !broker || (broker.problem() === null && broker.storeProblem() === null), log, env);
    if (notifier) stops.push(async () => notifier.stop());
    return {
      httpUrl: `http://${hostForUrl(httpAddress)}/`,
      brokerUrl,
      mqttUrl: broker?.tcpAddress ? `mqtt://${hostForUrl(broker.tcpAddress)}` : undefined,
      bridge,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function listen(server: http.Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", (error) => reject(new Error(`cannot listen for HTTP on ${host}:${port}: ${error.message} (set http.port or --http-port)`)));
    server.listen(port, host, () => resolve(server.address() as AddressInfo));
  });
}

function closeHttp(server: http.Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive connections (a Prometheus scraper) would hold close() open.
  server.closeAllConnections();
  return closed;
}

/** HOST:PORT to reach a listener: loopback for a wildcard address. */
function hostForUrl({ address, port, family }: AddressInfo): string {
  if (address === "0.0.0.0" || address === "::") return `127.0.0.1:${port}`;
  return family === "IPv6" ? `[${address}]:${port}` : `${address}:${port}`;
}

function externalProblem(status: BridgeStatus): string | null {
  return status.mqtt === "connected" ? null : "the bridge is not connected to the external broker";
}

function bridgeProblem(status: BridgeStatus): string | null {
  if (status.mqtt !== "connected") return "not connected to the broker";
  const closed = status.ports.filter((p) => p.state === "closed").map((p) => p.port);
  return closed.length > 0 ? `ports not open: ${closed.join(", ")}` : null;
}
