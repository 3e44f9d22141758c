// "Connect a device": the page becomes the serial bridge for a device plugged into this computer.
// Web Serial (navigator.serial) gives the port; edgews/bridge's browser build runs the link
// protocol on it and publishes the device in the bridge's topic layout, like `edgews bridge`
// would, so it shows up on this dashboard and any other. One bridge per port, each with its own
// MQTT session and IndexedDB store (named after the port), kept across page loads.
import { startBridge, webSerialOpener, type Bridge, type WebSerialPort } from "edgews/bridge";

export interface SerialDevicesOptions {
  broker: string;
  protocolVersion: 4 | 5;
  base: string;
  username?: string;
  password?: string;
  baudRate: number;
  log: (level: "error" | "warn" | "info", message: string) => void;
}

/** The part of navigator.serial used here. */
export interface SerialApi {
  requestPort(): Promise<WebSerialPort>;
}

export class SerialDevices {
  readonly #options: SerialDevicesOptions;
  readonly #serial: SerialApi;
  readonly #bridges: Bridge[] = [];

  constructor(serial: SerialApi, options: SerialDevicesOptions) {
    this.#serial = serial;
    this.#options = options;
  }

  /** Asks the user for a port (Chromium's chooser), then bridges it. */
  async connect(): Promise<string> {
    const port = await this.#serial.requestPort();
    const name = `webserial-${this.#bridges.length + 1}`;
    const { broker, protocolVersion, base, username, password, baudRate, log } = this.#options;
    const bridge = await startBridge({
      url: broker,
      protocolVersion,
      base,
      ...(username !== undefined ? { username, password } : {}),
      clientId: clientIdFor(name),
      // The gateway's bridge owns <base>/bridge/state; this page's devices announce their own availability.
      bridgeState: false,
      store: `edgews-dashboard-${name}`,
      ports: [{ path: name, baudRate }],
      openPort: webSerialOpener(() => port),
      log: (level, message) => log(level, `${name}: ${message}`),
    });
    this.#bridges.push(bridge);
    return name;
  }

  /** Devices go offline, stores close: on page hide. */
  async stop(): Promise<void> {
    await Promise.all(this.#bridges.splice(0).map((bridge) => bridge.stop()));
  }
}

/** A stable MQTT client id per port slot, so that a reload resumes the broker's session. */
function clientIdFor(name: string): string {
  const key = `edgews-dashboard-client-${name}`;
  let id = localStorage.getItem(key);
  if (!id) localStorage.setItem(key, (id = `edgews-web-${crypto.randomUUID().slice(0, 8)}-${name}`));
  return id;
}
