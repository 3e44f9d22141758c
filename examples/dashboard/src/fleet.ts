// What the dashboard knows, built from MQTT messages in the serial bridge's topic layout
// (docs/bridge.md): the bridge's state, and per device its availability, hello (channels and
// commands), latest state, a window of readings per numeric channel and its command results.
// No DOM and no MQTT client here: messages in, state out, so it is tested in Node.

export type Availability = "online" | "offline" | "unknown";

export interface ChannelInfo {
  name: string;
  unit: string;
  type: string;
}

export interface CommandInfo {
  name: string;
  argument: string;
}

/** A command sent from the dashboard and what became of it. */
export interface CommandOutcome {
  transaction: number;
  command: string;
  argument: unknown;
  sentAt: number;
  /** "pending" until a result arrives or the dashboard stops waiting ("no_answer"). */
  status: string;
  value?: unknown;
  error?: string;
}

/** Readings of one numeric channel: times (s, for uPlot) and values, oldest first. */
export interface Series {
  times: number[];
  values: number[];
}

export interface Device {
  id: string;
  availability: Availability;
  firmware?: string;
  port?: string;
  channels: ChannelInfo[];
  commands: CommandInfo[];
  state: Record<string, unknown>;
  series: Map<string, Series>;
  lastSeen?: number;
  events: Array<{ at: number; topic: "event" | "log"; text: string }>;
  outcomes: CommandOutcome[];
}

export interface FleetOptions {
  /** The bridge's topic base (`--base`). */
  base: string;
  /** How much history a chart shows, ms. */
  window: number;
  /** How long the dashboard waits for a command's result before it says "no_answer", ms. */
  commandTimeout: number;
}

export const defaultFleetOptions: FleetOptions = { base: "edgews", window: 5 * 60_000, commandTimeout: 15_000 };

const MAX_POINTS = 3000;
const MAX_EVENTS = 20;
const MAX_OUTCOMES = 10;

export class Fleet {
  readonly options: FleetOptions;
  readonly devices = new Map<string, Device>();
  bridgeState: Availability = "unknown";
  #nextTransaction = 1;

  constructor(options: Partial<FleetOptions> = {}) {
    this.options = { ...defaultFleetOptions, ...options };
  }

  /** The subscription that brings everything the fleet reads. */
  get filter(): string {
    return `${this.options.base}/#`;
  }

  /** Takes one message; returns the id of the device it changed, "bridge", or undefined if it was not ours. */
  receive(topic: string, payload: string, now: number): string | undefined {
    const prefix = `${this.options.base}/`;
    if (!topic.startsWith(prefix)) return undefined;
    const [id, ...rest] = topic.slice(prefix.length).split("/");
    if (!id) return undefined;
    const leaf = rest.join("/");
    if (id === "bridge") {
      if (leaf !== "state") return undefined;
      this.bridgeState = availability(payload);
      return "bridge";
    }
    const device = this.#device(id);
    if (!applyMessage(device, leaf, payload, now, this.options.window)) return undefined;
    device.lastSeen = now;
    return id;
  }

  /** Records a command about to be published; returns the payload to publish on `<base>/<id>/set`. */
  command(id: string, command: string, argument: unknown, now: number): { topic: string; payload: string; outcome: CommandOutcome } {
    const device = this.#device(id);
    const outcome: CommandOutcome = { transaction: this.#nextTransaction++, command, argument, sentAt: now, status: "pending" };
    device.outcomes.unshift(outcome);
    device.outcomes.length = Math.min(device.outcomes.length, MAX_OUTCOMES);
    const payload = JSON.stringify({ [command]: argument, transaction: outcome.transaction });
    return { topic: `${this.options.base}/${id}/set`, payload, outcome };
  }

  /** Marks commands that waited longer than commandTimeout; returns the ids of devices changed. */
  expire(now: number): string[] {
    const changed: string[] = [];
    for (const device of this.devices.values()) {
      for (const outcome of device.outcomes) {
        if (outcome.status !== "pending" || now - outcome.sentAt < this.options.commandTimeout) continue;
        outcome.status = "no_answer";
        outcome.error = `no result within ${this.options.commandTimeout / 1000} s (is the bridge running?)`;
        changed.push(device.id);
      }
    }
    return changed;
  }

  /** A device counts as available only while the bridge that serves it is (its will says when it is not). */
  effectiveAvailability(device: Device): Availability {
    return this.bridgeState === "offline" ? "offline" : device.availability;
  }

  #device(id: string): Device {
    let device = this.devices.get(id);
    if (!device) {
      device = { id, availability: "unknown", channels: [], commands: [], state: {}, series: new Map(), events: [], outcomes: [] };
      this.devices.set(id, device);
    }
    return device;
  }
}

function availability(payload: string): Availability {
  return payload === "online" ? "online" : payload === "offline" ? "offline" : "unknown";
}

function applyMessage(device: Device, leaf: string, payload: string, now: number, window: number): boolean {
  switch (leaf) {
    case "availability":
      device.availability = availability(payload);
      return true;
    case "info":
      return applyInfo(device, parseObject(payload));
    case "":
      return applyState(device, parseObject(payload), now, window);
    case "event":
    case "log":
      return applyEvent(device, leaf, parseObject(payload), now);
    case "set/result":
      return applyResult(device, parseObject(payload));
    default:
      return false;
  }
}

function applyInfo(device: Device, info: Record<string, unknown> | undefined): boolean {
  if (!info) return false;
  device.firmware = typeof info.firmware === "string" ? info.firmware : undefined;
  device.port = typeof info.port === "string" ? info.port : undefined;
  device.channels = Array.isArray(info.channels) ? info.channels.filter(isChannel) : [];
  device.commands = Array.isArray(info.commands) ? info.commands.filter(isCommand) : [];
  return true;
}

function applyState(device: Device, state: Record<string, unknown> | undefined, now: number, window: number): boolean {
  if (!state) return false;
  device.state = state;
  const t = now / 1000;
  for (const [name, value] of Object.entries(state)) {
    if (typeof value !== "number" || !Number.isFinite(value)) continue;
    let series = device.series.get(name);
    if (!series) device.series.set(name, (series = { times: [], values: [] }));
    series.times.push(t);
    series.values.push(value);
    trim(series, t - window / 1000);
  }
  return true;
}

function trim(series: Series, oldest: number): void {
  let drop = 0;
  while (drop < series.times.length && (series.times[drop]! < oldest || series.times.length - drop > MAX_POINTS)) drop++;
  if (drop === 0) return;
  series.times.splice(0, drop);
  series.values.splice(0, drop);
}

function applyEvent(device: Device, topic: "event" | "log", body: Record<string, unknown> | undefined, now: number): boolean {
  if (!body) return false;
  const text = topic === "event" ? `${String(body.name)} = ${JSON.stringify(body.value)}` : `${String(body.level)}: ${String(body.text)}`;
  device.events.unshift({ at: now, topic, text });
  device.events.length = Math.min(device.events.length, MAX_EVENTS);
  return true;
}

function applyResult(device: Device, result: Record<string, unknown> | undefined): boolean {
  if (!result) return false;
  const outcome = device.outcomes.find((o) => o.transaction === result.transaction);
  if (!outcome) return false; // another dashboard's command, or one from before this page loaded
  outcome.status = typeof result.status === "string" ? result.status : "failed";
  outcome.value = result.value;
  outcome.error = typeof result.error === "string" ? result.error : undefined;
  return true;
}

function parseObject(payload: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(payload);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function isChannel(value: unknown): value is ChannelInfo {
  const c = value as ChannelInfo;
  return typeof c?.name === "string" && typeof c.type === "string";
}

function isCommand(value: unknown): value is CommandInfo {
  const c = value as CommandInfo;
  return typeof c?.name === "string" && typeof c.argument === "string";
}
