// The page: a broker connection (edgews/mqtt over the browser's WebSocket), the fleet it feeds,
// a status bar (connection state, reconnect countdown, bridge state, message rate) and a card per
// device. Retained availability, hello and state bring a fresh page, or one back from an outage,
// up to date at once.
import { connect, type MqttClient } from "edgews/mqtt";
import { DeviceCard, el } from "./device-card.js";
import { Fleet, type FleetOptions } from "./fleet.js";
import { RateMeter } from "./rate.js";

export interface DashboardOptions extends Partial<FleetOptions> {
  /** An MQTT-over-WebSocket broker URL, e.g. ws://gateway.local:8080/mqtt. */
  broker: string;
  username?: string;
  password?: string;
  /** 5 (default), or 4 for a broker that speaks only MQTT 3.1.1 (edgews gateway's embedded aedes). */
  protocolVersion?: 4 | 5;
}

type ConnectionState = "connecting" | "online" | "offline";

export class Dashboard {
  readonly fleet: Fleet;
  readonly #root: HTMLElement;
  readonly #status: { connection: HTMLElement; bridge: HTMLElement; rate: HTMLElement };
  readonly #grid: HTMLElement;
  readonly #cards = new Map<string, DeviceCard>();
  readonly #rate = new RateMeter(10_000);
  readonly #dirty = new Set<string>();
  #client: MqttClient | undefined;
  #state: ConnectionState = "connecting";
  #offlineSince = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(root: HTMLElement, options: DashboardOptions) {
    this.fleet = new Fleet(options);
    this.#root = root;
    const connection = el("span", { class: "connection", "data-state": "connecting" }, "connecting…");
    const bridge = el("span", { class: "bridge" });
    const rate = el("span", { class: "rate" });
    this.#status = { connection, bridge, rate };
    const bar = el("p", { class: "status", role: "status", "aria-live": "polite" }, connection, " · ", bridge, " · ", rate);
    this.#grid = el("section", { class: "devices", "aria-label": "devices" });
    root.replaceChildren(bar, this.#grid);
    this.#open(options);
  }

  close(): Promise<void> {
    clearInterval(this.#timer);
    for (const card of this.#cards.values()) card.destroy();
    return this.#client?.end() ?? Promise.resolve();
  }

  #open(options: DashboardOptions): void {
    const client = connect(options.broker, {
      protocolVersion: options.protocolVersion ?? 4,
      clientId: `edgews-dashboard-${Math.random().toString(16).slice(2, 10)}`,
      ...(options.username !== undefined ? { username: options.username, password: options.password } : {}),
      reconnect: { initialDelay: 500, maxDelay: 5000 },
    });
    this.#client = client;
    client.on("connect", () => this.#setState("online"));
    client.on("close", () => this.#setState("offline"));
    client.on("error", (error) => console.warn("dashboard: broker:", error.message));
    client.on("message", (topic, payload) => this.#receive(topic, new TextDecoder().decode(payload)));
    client.subscribe(this.fleet.filter, { qos: 1 }).catch((error: Error) => console.warn("dashboard: subscribe:", error.message));
    this.#timer = setInterval(() => this.#tick(), 1000);
  }

  #receive(topic: string, payload: string): void {
    const now = Date.now();
    this.#rate.count(now);
    const changed = this.fleet.receive(topic, payload, now);
    if (changed === "bridge") for (const id of this.fleet.devices.keys()) this.#dirty.add(id);
    else if (changed) this.#dirty.add(changed);
    this.#scheduleRender();
  }

  send(device: string, command: string, argument: unknown): void {
    const { topic, payload, outcome } = this.fleet.command(device, command, argument, Date.now());
    this.#dirty.add(device);
    this.#scheduleRender();
    this.#client?.publish(topic, payload, { qos: 1 }).catch((error: Error) => {
      outcome.status = "not_sent";
      outcome.error = error.message;
      this.#dirty.add(device);
      this.#scheduleRender();
    });
  }

  #setState(state: ConnectionState): void {
    if (state === "offline" && this.#state !== "offline") this.#offlineSince = Date.now();
    this.#state = state;
    this.#renderStatus(Date.now());
  }

  #tick(): void {
    const now = Date.now();
    for (const id of this.fleet.expire(now)) this.#dirty.add(id);
    for (const id of this.fleet.devices.keys()) this.#dirty.add(id); // "seen … ago" and the chart's window move
    this.#scheduleRender();
  }

  #rendering = false;
  #scheduleRender(): void {
    if (this.#rendering) return;
    this.#rendering = true;
    requestAnimationFrame(() => {
      this.#rendering = false;
      const now = Date.now();
      this.#renderStatus(now);
      for (const id of this.#dirty) this.#card(id).update(now);
      this.#dirty.clear();
    });
  }

  #renderStatus(now: number): void {
    const { connection, bridge, rate } = this.#status;
    connection.dataset.state = this.#state;
    const reconnectAt = this.#client?.reconnectAt;
    connection.textContent =
      this.#state === "online" ? "connected" :
      this.#state === "connecting" ? "connecting…" :
      `offline for ${Math.round((now - this.#offlineSince) / 1000)} s${reconnectAt ? `, retrying in ${Math.max(0, Math.ceil((reconnectAt - now) / 1000))} s` : ", retrying"}`;
    bridge.textContent = `bridge ${this.fleet.bridgeState}`;
    bridge.dataset.state = this.fleet.bridgeState;
    rate.textContent = `${this.#rate.perSecond(now).toFixed(1)} msg/s`;
    this.#root.dataset.connection = this.#state;
  }

  #card(id: string): DeviceCard {
    let card = this.#cards.get(id);
    if (!card) {
      card = new DeviceCard(this.fleet, id, (device, command, argument) => this.send(device, command, argument));
      this.#cards.set(id, card);
      const after = [...this.#cards.keys()].sort().indexOf(id);
      this.#grid.insertBefore(card.element, this.#grid.children[after] ?? null);
    }
    return card;
  }
}
