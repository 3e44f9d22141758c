// The serial bridge: one device session per serial port, one MQTT client for all of them, and
// the store that makes a reliable device message reach the broker exactly once. It wires the
// pieces together and routes commands; the work is in device-session.ts (a device), intake.ts
// (its budget), taken-store.ts (durability) and port-runner.ts (its port).
import type { ClientOptions } from "../client/connect.js";
import type { Hello } from "../link/index.js";
import { ClientEndedError, connect, validateTopicName, type MessageStore, type MqttClient, type PublishOptions, type ReconnectOptions } from "../mqtt/api.js";
import type { IPublishPacket } from "mqtt-packet";
import { DEFAULT_COMMAND_LIMITS } from "./commands.js";
import { DeviceSession, type DeviceHost, type DeviceLimits, type DeviceLinkOptions, type DeviceStatus } from "./device-session.js";
import { BridgeError } from "./errors.js";
import { discoveryMessages } from "./home-assistant.js";
import { DEFAULT_INTAKE_LIMITS } from "./intake.js";
import { bridgeStateTopic, commandFilter, deviceOfCommandTopic, deviceTopics, infoPayload, resultPayload } from "./mapping.js";
import { PortRunner } from "./port-runner.js";
import { platform } from "./platform/node.js";
import { DEFAULT_SERIAL_SETTINGS, type PortOpener, type SerialSettings } from "./port.js";
import { TakenStore, type Taken } from "./taken-store.js";

export type LogLevel = "error" | "warn" | "info";
export type Logger = (level: LogLevel, message: string) => void;

/** A port and, optionally, its own UART settings. */
export interface BridgePortOptions extends Partial<Omit<SerialSettings, "path">> {
  path: string;
}

export interface BridgeOptions {
  /** The broker: mqtt://, mqtts://, ws:// or wss:// (tcp:, ssl:, tls: too), as edgews/mqtt's connect() takes it. */
  url: string;
  /** 5 (default): command results go to the request's response topic with its correlation data; 4: MQTT 3.1.1. */
  protocolVersion?: 4 | 5;
  /**
   * Must stay the same across restarts: the broker keeps the bridge's QoS 2 session under it,
   * which is what keeps a message resent after a crash from arriving twice. Default
   * `edgews-bridge-<hostname>` (in a page: a random one).
   */
  clientId?: string;
  /**
   * Publish `<base>/bridge/state` (retained: online, offline at stop) and make "offline" the MQTT
   * will. Default true. Two bridges under one base would overwrite each other's state: a page
   * bridging a Web Serial device beside a gateway's bridge sets false.
   */
  bridgeState?: boolean;
  username?: string;
  password?: string;
  /** Seconds the broker keeps the session while the bridge is away (MQTT 5). Default 86,400. */
  sessionExpiry?: number;
  /** Options of the WebSocket under MQTT (TLS, proxy, headers). */
  ws?: ClientOptions;
  /** The MQTT client's reconnect backoff. Default 1 s doubling to 30 s. */
  mqttReconnect?: ReconnectOptions;
  /** First level of every topic. Default "edgews". */
  base?: string;
  /**
   * Where unacknowledged MQTT messages and what the bridge took from each device survive a
   * crash: a FileStore path (fsync "always"; in a page, an IndexedDB database name), or a store. Required.
   */
  store: string | MessageStore;
  /** The serial ports, one device each. */
  ports: Array<string | BridgePortOptions>;
  /** UART settings of ports that do not give their own. Default 115200 baud, 8 data bits, no parity, 1 stop bit. */
  serial?: Partial<Omit<SerialSettings, "path">>;
  /** Home Assistant MQTT discovery; `true` uses the prefix "homeassistant". Default off. */
  homeAssistant?: boolean | { prefix?: string };
  /** QoS of telemetry (state) publishes. Default 0: best-effort from the device, best-effort on. */
  telemetryQos?: 0 | 1;
  /** Per-device budget and bounds (each documented on DeviceLimits). */
  limits?: Partial<DeviceLimits>;
  /** Link timing and sizes (docs/link-protocol.md §5.5). */
  link?: DeviceLinkOptions;
  /** Reopening a port that closed or is absent. Default 500 ms doubling to 10 s. */
  portReconnect?: ReconnectOptions;
  /** Bytes queued for one port beyond which writes are dropped. Default 65,536. */
  maxWriteBuffer?: number;
  /**
   * Opens ports (default: serialport, imported on first use; tests pass SerialPortMock's; a page
   * passes webSerialOpener(...), which it must: a page has no port paths).
   */
  openPort?: PortOpener;
  /** Where the bridge reports (default: warnings and errors to stderr). */
  log?: Logger;
  /**
   * Let V8's young generation grow as it does by default (up to 32 MiB on 64-bit). Default false:
   * the bridge keeps it at its size when the bridge starts (heap.ts), process-wide, which keeps
   * ~12 MiB off the RSS of a bridge with 32 devices; set true in an app that embeds the bridge
   * and allocates heavily itself.
   */
  growYoungGeneration?: boolean;
}

export const DEFAULT_DEVICE_LIMITS: DeviceLimits = { ...DEFAULT_INTAKE_LIMITS, ...DEFAULT_COMMAND_LIMITS, maxOutboxBytes: 64 * 1024 };

/** Everything the bridge counts, for a status line, `--json`, or a metrics exporter. */
export interface BridgeStatus {
  mqtt: "connected" | "disconnected";
  /** MQTT messages not yet acknowledged by the broker (QoS 1/2). */
  mqttOutgoing: number;
  /** Entries in the store (messages, and one record per link). */
  storeEntries: number;
  ports: DeviceStatus[];
}

/** How long stop() waits for its last publishes (and the MQTT client for what is in flight). */
const STOP_TIMEOUT_MS = 5000;

const defaultLog: Logger = (level, message) => {
  if (level !== "info") console.error(`edgews bridge ${level}: ${message}`);
};

/** Opens the store, connects to the broker and opens every port. */
export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const base = options.base ?? "edgews";
  checkOptions(options, base);
  if (!options.growYoungGeneration) platform.limitHeap();
  const inner = typeof options.store === "string" ? await platform.openStore(options.store) : options.store;
  try {
    return await Bridge.start(options, base, await TakenStore.open(inner));
  } catch (error) {
    await inner.close().catch(() => {});
    throw error;
  }
}

function checkOptions(options: BridgeOptions, base: string): void {
  try {
    validateTopicName(bridgeStateTopic(base));
  } catch (error) {
    throw new BridgeError("BRIDGE_BAD_CONFIG", `base "${base}" cannot start a topic: ${(error as Error).message}`);
  }
  if (options.ports.length === 0) throw new BridgeError("BRIDGE_BAD_CONFIG", "no serial ports to bridge: give at least one (`edgews bridge --list` shows them)");
  const paths = options.ports.map((p) => (typeof p === "string" ? p : p.path));
  const twice = paths.find((path, i) => paths.indexOf(path) !== i);
  if (twice) throw new BridgeError("BRIDGE_BAD_CONFIG", `port ${twice} is listed twice`);
}

export class Bridge {
  readonly client: MqttClient;
  readonly base: string;
  readonly #store: TakenStore;
  readonly #log: Logger;
  readonly #homeAssistant: string | undefined;
  /** `<base>/bridge/state`, unless the options say bridgeState: false. */
  readonly #stateTopic: string | undefined;
  readonly #sessions: DeviceSession[] = [];
  readonly #runners: PortRunner[] = [];
  /** Device id -> the session that has it (online, or last online). */
  readonly #devices = new Map<string, DeviceSession>();
  /** The bridge's own publishes (availability, answers, discovery) not yet acknowledged. */
  #stopping: Promise<void> | undefined;

  /** Use startBridge. */
  static async start(options: BridgeOptions, base: string, store: TakenStore): Promise<Bridge> {
    const bridge = new Bridge(options, base, store);
    await bridge.#loaded();
    bridge.#openPorts(options);
    return bridge;
  }

  private constructor(options: BridgeOptions, base: string, store: TakenStore) {
    this.base = base;
    this.#store = store;
    this.#log = options.log ?? defaultLog;
    const ha = options.homeAssistant;
    this.#homeAssistant = ha === true ? "homeassistant" : ha ? (ha.prefix ?? "homeassistant") : undefined;
    this.#stateTopic = options.bridgeState === false ? undefined : bridgeStateTopic(base);
    const v5 = (options.protocolVersion ?? 5) === 5;
    this.client = connect(options.url, {
      protocolVersion: v5 ? 5 : 4,
      clientId: options.clientId ?? platform.defaultClientId(),
      clean: false,
      ...(v5 ? { properties: { sessionExpiryInterval: options.sessionExpiry ?? 86_400 } } : {}),
      ...(options.username !== undefined ? { username: options.username } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...(options.ws ? { ws: options.ws } : {}),
      ...(options.mqttReconnect ? { reconnect: options.mqttReconnect } : {}),
      store,
      endTimeout: STOP_TIMEOUT_MS,
      // Zigbee2MQTT's convention: the bridge's state, retained, turned "offline" by the broker when the bridge dies.
      ...(this.#stateTopic ? { will: { topic: this.#stateTopic, payload: "offline", qos: 1, retain: true } } : {}),
    });
    this.client.on("error", (error) => this.#log("warn", `mqtt: ${detailOf(error)}`));
    this.client.on("connect", () => this.#onConnect());
    this.#subscribe(commandFilter(base), (topic, payload, packet) => this.#onCommand(topic, payload, packet));
    if (this.#homeAssistant) {
      // Home Assistant announces its restarts here: discovery messages go out again.
      this.#subscribe(`${this.#homeAssistant}/status`, (_topic, payload) => payload.toString() === "online" && this.#reannounce());
    }
  }

  /** The client has read its store back (or ended trying). */
  #loaded(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ended = () => reject(new BridgeError("BRIDGE_NOT_STORED", "the MQTT client ended while loading its store (see the errors logged above)"));
      this.client.once("end", ended);
      void this.#store.loaded().then(() => {
        this.client.off("end", ended);
        resolve();
      });
    });
  }

  #openPorts(options: BridgeOptions): void {
    const limits = { ...DEFAULT_DEVICE_LIMITS, ...options.limits };
    const host = this.#host();
    for (const entry of options.ports) {
      const port = typeof entry === "string" ? { path: entry } : entry;
      const settings: SerialSettings = { ...DEFAULT_SERIAL_SETTINGS, ...options.serial, ...port };
      const session = new DeviceSession(settings.path, { limits, link: options.link ?? {}, telemetryQos: options.telemetryQos ?? 0 }, host);
      const runner = new PortRunner(settings, session, options.openPort ?? platform.defaultOpenPort, { reconnect: options.portReconnect, maxWriteBuffer: options.maxWriteBuffer }, this.#log);
      this.#sessions.push(session);
      this.#runners.push(runner);
      runner.start();
    }
  }

  #host(): DeviceHost {
    return {
      base: this.base,
      ledger: this.#store,
      publish: (topic, payload, options) => this.#publish(topic, payload, options),
      publishTaken: (taken, topic, payload, options) => this.#publishTaken(taken, topic, payload, options),
      announce: (hello, port) => this.#announce(hello, port),
      claim: (deviceId, session) => this.#claim(deviceId, session),
      log: this.#log,
    };
  }

  #publish(topic: string, payload: string, options: PublishOptions = {}): void {
    this.client.publish(topic, payload, { qos: 1, ...options }).catch((error: Error) => this.#publishFailed(topic, error));
  }

  #publishTaken(taken: Taken, topic: string, payload: string, options?: PublishOptions): Promise<void> {
    const { stored, acknowledged } = this.#store.publishTaken(this.client, taken, topic, payload, options);
    acknowledged.catch((error: Error) => this.#publishFailed(topic, error));
    return stored;
  }

  #publishFailed(topic: string, error: Error): void {
    // Ending with messages in flight: they stay in the store for the next run.
    if (!(error instanceof ClientEndedError)) this.#log("warn", `publish to ${topic} failed: ${error.message}`);
  }

  #subscribe(filter: string, handler: (topic: string, payload: Buffer, packet: IPublishPacket) => unknown): void {
    this.client.subscribe(filter, { qos: 1, onMessage: (topic, payload, packet) => void handler(topic, payload, packet) }).catch((error: Error) => {
      if (!(error instanceof ClientEndedError)) this.#log("error", `subscribing to ${filter} failed: ${error.message}`);
    });
  }

  #claim(deviceId: string, session: DeviceSession): string | undefined {
    const holder = this.#devices.get(deviceId);
    if (holder && holder !== session && holder.online) return `device id "${deviceId}" is already online on ${holder.port}: give each device its own id`;
    this.#devices.set(deviceId, session);
    return undefined;
  }

  #announce(hello: Hello, port: string): void {
    this.#publish(deviceTopics(this.base, hello.deviceId).info, infoPayload(hello, port), { qos: 1, retain: true });
    if (!this.#homeAssistant) return;
    for (const { topic, payload } of discoveryMessages(this.#homeAssistant, this.base, hello)) this.#publish(topic, payload, { qos: 1, retain: true });
  }

  #onConnect(): void {
    if (this.#stateTopic) this.#publish(this.#stateTopic, "online", { qos: 1, retain: true });
    this.#log("info", `mqtt: connected${this.#stateTopic ? `, ${this.#stateTopic} online` : ""}`);
  }

  #reannounce(): void {
    for (const session of this.#sessions) session.reannounce();
  }

  #onCommand(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const deviceId = deviceOfCommandTopic(this.base, topic);
    if (deviceId === undefined) return;
    const responseTopic = packet.properties?.responseTopic;
    const correlationData = packet.properties?.correlationData;
    const reply = responseTopic ? { topic: responseTopic, ...(correlationData ? { correlationData } : {}) } : undefined;
    const session = this.#devices.get(deviceId);
    if (session) return session.command(payload, reply, deviceId);
    const to = reply ?? { topic: deviceTopics(this.base, deviceId).result };
    const properties = to.correlationData ? { properties: { correlationData: to.correlationData } } : {};
    this.#publish(to.topic, resultPayload({ status: "offline", error: `no device "${deviceId}" has been seen on this bridge` }), properties);
  }

  status(): BridgeStatus {
    return {
      mqtt: this.client.connected ? "connected" : "disconnected",
      mqttOutgoing: this.client.outgoingCount,
      storeEntries: this.#store.size,
      ports: this.#sessions.map((s) => s.status()),
    };
  }

  /**
   * Stops: ports closed (devices offline), `bridge/state` offline, those last publishes given up
   * to 5 s to be acknowledged (or stored, while the broker is away), the MQTT client ended, the
   * store closed. What a device sent and the bridge had not stored yet was not acknowledged: the
   * device sends it to the next run.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await Promise.all(this.#runners.map((r) => r.stop()));
      if (this.#stateTopic) this.#publish(this.#stateTopic, "offline", { qos: 1, retain: true });
      // Waits (endTimeout) for the publishes still being stored and, while connected, for those in flight.
      await this.client.end(false);
      await this.#store.close();
    })();
    return this.#stopping;
  }
}

/** What an error says for the log: its `detail` where it has one (a WebSocket handshake's, whose message is ws's terse one). */
function detailOf(error: Error): string {
  const { detail } = error as Error & { detail?: unknown };
  return typeof detail === "string" ? detail : error.message;
}
