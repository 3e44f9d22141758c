// The gateway's Prometheus metrics (prom-client, a registry of its own). The broker's counts are
// kept as events happen; the bridge's are read from its status at each scrape, as are the bytes
// of the open sockets and the size of the state directory. Node's defaults add event-loop lag
// (nodejs_eventloop_lag_p99_seconds ...) and RSS (process_resident_memory_bytes).
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Socket } from "node:net";
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { BridgeStatus } from "../bridge/index.js";

export type Transport = "ws" | "tcp";

/** Why the broker dropped or refused something. */
export type DropReason = "auth" | "acl_publish" | "acl_subscribe" | "ws_refused" | "client_error";

export interface MetricSources {
  /** The bridge's status, once it runs. */
  bridge(): BridgeStatus | undefined;
  /** Times the bridge's MQTT client reconnected. */
  bridgeReconnects(): number;
  /** The directory whose size is the store size. */
  stateDir: string;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly connections: Gauge<"transport">;
  readonly messagesIn: Counter<"qos">;
  readonly messagesOut: Counter<"qos">;
  readonly drops: Counter<"reason">;
  readonly #bytes = new SocketBytes();

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
    this.connections = new Gauge({ name: "edgews_broker_connections", help: "MQTT clients connected to the embedded broker", labelNames: ["transport"], registers });
    this.messagesIn = new Counter({ name: "edgews_broker_messages_in_total", help: "PUBLISH packets received from clients", labelNames: ["qos"], registers });
    this.messagesOut = new Counter({ name: "edgews_broker_messages_out_total", help: "PUBLISH packets forwarded to subscribers", labelNames: ["qos"], registers });
    this.drops = new Counter({ name: "edgews_broker_drops_total", help: "connections, publishes and subscriptions the broker refused, by reason", labelNames: ["reason"], registers });
    const bytes = this.#bytes;
    new Counter({
      name: "edgews_broker_bytes_total", help: "bytes on the broker's client sockets", labelNames: ["direction"], registers,
      collect() {
        this.reset();
        this.inc({ direction: "in" }, bytes.read());
        this.inc({ direction: "out" }, bytes.written());
      },
    });
    this.#bridgeMetrics(sources, registers);
    new Gauge({
      name: "edgews_store_bytes", help: "bytes of the gateway's state directory (broker persistence and bridge store)", registers,
      async collect() {
        this.set(await directorySize(sources.stateDir));
      },
    });
  }

  /** Counts a client socket's bytes from now until it closes. */
  track(socket: Socket): void {
    this.#bytes.track(socket);
  }

  #bridgeMetrics(sources: MetricSources, registers: Registry[]): void {
    const perPort = (name: string, help: string, read: (port: BridgeStatus["ports"][number]) => Array<[Record<string, string>, number]>) =>
      new Counter({
        name, help, labelNames: ["port", "result", "kind"], registers,
        collect() {
          this.reset();
          for (const port of sources.bridge()?.ports ?? []) for (const [labels, value] of read(port)) this.inc({ port: port.port, ...labels }, value);
        },
      });
    perPort("edgews_serial_packets_total", "link packets from each serial port: ok, or bad (CRC, framing, size)", (p) => [[{ result: "ok" }, p.packetsOk], [{ result: "bad" }, p.packetsBad]]);
    perPort("edgews_serial_reconnects_total", "times each serial port was opened again", (p) => [[{}, p.reconnects]]);
    perPort("edgews_bridge_drops_total", "device messages and writes the bridge dropped, by kind", (p) => [
      [{ kind: "telemetry" }, p.telemetryDropped], [{ kind: "reliable" }, p.reliableDropped], [{ kind: "outbox" }, p.outboxDropped], [{ kind: "bad_message" }, p.badMessages],
    ]);
    new Gauge({
      name: "edgews_queue_depth", help: "messages waiting: for the broker's acknowledgement, for the store, for a device's hello", labelNames: ["queue"], registers,
      collect() {
        const status = sources.bridge();
        this.set({ queue: "bridge_mqtt_outgoing" }, status?.mqttOutgoing ?? 0);
        this.set({ queue: "bridge_store_pending" }, sum(status, (p) => p.pendingStore));
        this.set({ queue: "bridge_held" }, sum(status, (p) => p.held));
      },
    });
    new Counter({
      name: "edgews_mqtt_reconnects_total", help: "times the bridge's MQTT client reconnected to the broker", registers,
      collect() {
        this.reset();
        this.inc(sources.bridgeReconnects());
      },
    });
    new Gauge({
      name: "edgews_bridge_up", help: "1 while the bridge is connected to the broker", registers,
      collect() {
        this.set(sources.bridge()?.mqtt === "connected" ? 1 : 0);
      },
    });
  }
}

function sum(status: BridgeStatus | undefined, of: (port: BridgeStatus["ports"][number]) => number): number {
  return (status?.ports ?? []).reduce((total, port) => total + of(port), 0);
}

/** Bytes read and written by every socket tracked: the open ones live, the closed ones as they ended. */
class SocketBytes {
  readonly #open = new Set<Socket>();
  #closedRead = 0;
  #closedWritten = 0;

  track(socket: Socket): void {
    this.#open.add(socket);
    socket.once("close", () => {
      this.#open.delete(socket);
      this.#closedRead += socket.bytesRead;
      this.#closedWritten += socket.bytesWritten;
    });
  }

  read(): number {
    let total = this.#closedRead;
    for (const socket of this.#open) total += socket.bytesRead;
    return total;
  }

  written(): number {
    let total = this.#closedWritten;
    for (const socket of this.#open) total += socket.bytesWritten;
    return total;
  }
}

/** Bytes of the files under `dir` (0 if it does not exist). */
export async function directorySize(dir: string): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  const sizes = await Promise.all(entries.filter((e) => e.isFile()).map((e) => stat(join(e.parentPath, e.name)).then((s) => s.size, () => 0)));
  return sizes.reduce((a, b) => a + b, 0);
}
