// A tiny device for the bridge tests: the src/link endpoint in the device role, on real timers.
// It says hello after every `up` (docs/link-protocol.md §7.2), sends telemetry, events and logs
// when told, answers commands, and reboots (a new session: what it held is gone, as RAM is).
// It is attached to a transport by its `write` callback and `receive`; `attachToPort` puts it
// on a serial port (a pty's device end) through serialport.
import { SerialPort } from "serialport";
import {
  LinkSession, MessageKind, ResultStatus, ValueType, decodeCommand, encodeEvent, encodeHello, encodeLog, encodeResult, encodeTelemetry,
  type Command, type CommandResult, type Hello, type LinkOptions, type Reading, type Value,
} from "../../src/link/index.js";

export const greenhouse: Hello = {
  deviceId: "gh-7",
  firmware: "1.4.2",
  channels: [
    { name: "temperature", unit: "°C", type: ValueType.F32 },
    { name: "humidity", unit: "%", type: ValueType.U8 },
    { name: "door", unit: "", type: ValueType.Bool },
  ],
  commands: [
    { name: "reboot", argument: ValueType.None },
    { name: "fan", argument: ValueType.U8 },
    { name: "label", argument: ValueType.String },
  ],
};

/** Fast liveness for tests: a silent peer is gone in 1.5 s, not 15. */
export const FAST_LINK: LinkOptions = { syncInterval: 100, pingInterval: 300, deadPeerTimeout: 1500, retransmitTimeout: 100, maxRetransmitTimeout: 400 };

export type CommandHandler = (command: Command, hello: Hello) => CommandResult | undefined;

/** Answers every command "ok" with its argument as value (none for reboot). */
export const echoCommands: CommandHandler = (command, hello) => {
  const type = hello.commands[command.command]!.argument;
  return { id: command.id, status: ResultStatus.Ok, type, value: command.argument };
};

export class DeviceStub {
  readonly hello: Hello;
  /** Ids (from send) of reliable messages the bridge acknowledged, in this session. */
  readonly delivered = new Set<number>();
  readonly commands: Command[] = [];
  ups = 0;
  downs = 0;
  reboots = 0;
  onCommand: CommandHandler;
  #options: LinkOptions;
  #write: (bytes: Uint8Array) => void = () => {};
  #link: LinkSession;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #deliveredWaiters: Array<() => void> = [];

  constructor(hello: Hello = greenhouse, options: LinkOptions = FAST_LINK, onCommand: CommandHandler = echoCommands) {
    this.hello = hello;
    this.#options = options;
    this.onCommand = onCommand;
    this.#link = this.#newLink();
  }

  get established(): boolean {
    return this.#link.state === "established";
  }

  get session(): number {
    return this.#link.session;
  }

  get stats(): LinkSession["stats"] {
    return this.#link.stats;
  }

  /** Reliable messages sent and not yet acknowledged. */
  get unacknowledged(): number {
    return this.#link.pending().length;
  }

  /** Where the device's bytes go (the port); bytes that come back go to `receive`. */
  connect(write: (bytes: Uint8Array) => void): void {
    this.#write = write;
    this.#link.tick();
    this.#schedule();
  }

  receive(bytes: Uint8Array): void {
    this.#link.receive(bytes);
    this.#schedule();
  }

  telemetry(readings: Reading[]): boolean {
    const sent = this.#link.sendBestEffort(MessageKind.Telemetry, encodeTelemetry(readings, this.hello));
    this.#schedule();
    return sent;
  }

  /** A reliable event; returns its id (see `delivered`). */
  event(name: string, type: ValueType, value: Value): number {
    return this.#reliable(MessageKind.Event, encodeEvent({ name, type, value }));
  }

  log(level: 0 | 1 | 2 | 3, text: string): number {
    return this.#reliable(MessageKind.Log, encodeLog({ level, text }));
  }

  /** Resolves once every reliable message sent so far is acknowledged. */
  async drained(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.unacknowledged > 0) {
      if (Date.now() > deadline) throw new Error(`device ${this.hello.deviceId}: ${this.unacknowledged} reliable messages still unacknowledged after ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.#deliveredWaiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** A reboot: a new session; messages not yet acknowledged are lost with the RAM. */
  reboot(): void {
    clearTimeout(this.#timer);
    this.reboots++;
    this.delivered.clear();
    this.#link = this.#newLink();
    this.#link.tick();
    this.#schedule();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #reliable(kind: number, body: Uint8Array): number {
    const id = this.#link.sendReliable(kind, body);
    this.#schedule();
    return id;
  }

  #newLink(): LinkSession {
    const link: LinkSession = new LinkSession(this.#options, {
      write: (bytes) => link === this.#link && !this.#closed && this.#write(bytes),
      message: (kind, body) => link === this.#link && this.#onMessage(kind, body),
      up: () => {
        if (link !== this.#link) return;
        this.ups++;
        // First reliable message after every up (a bridge that restarted learns the device again).
        link.sendReliable(MessageKind.Hello, encodeHello(this.hello));
      },
      down: () => void (link === this.#link && this.downs++),
      delivered: (id) => {
        if (link !== this.#link) return;
        this.delivered.add(id);
        for (const wake of this.#deliveredWaiters.splice(0)) wake();
      },
    });
    return link;
  }

  #onMessage(kind: number, body: Uint8Array): void {
    if (kind !== MessageKind.Command) return;
    const command = decodeCommand(body, this.hello);
    this.commands.push(command);
    const result = this.onCommand(command, this.hello);
    if (result) this.#link.sendReliable(MessageKind.Result, encodeResult(result));
  }

  #schedule(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    const at = this.#link.nextTimeout();
    if (at === Infinity) return;
    this.#timer = setTimeout(() => {
      this.#link.tick();
      this.#schedule();
    }, Math.max(0, at - performance.now()));
  }
}

/** Opens `path` (a pty's device end) with serialport and joins it to `device`; resolves once open. */
export async function attachToPort(device: DeviceStub, path: string): Promise<SerialPort> {
  const port = await new Promise<SerialPort>((resolve, reject) => {
    const p: SerialPort = new SerialPort({ path, baudRate: 115_200 }, (error) => (error ? reject(error) : resolve(p)));
  });
  port.on("error", () => {}); // an unplug shows as a close
  port.on("data", (chunk: Buffer) => device.receive(chunk));
  device.connect((bytes) => {
    if (port.isOpen) port.write(Buffer.from(bytes));
  });
  return port;
}

/** Closes a port opened by attachToPort (an unplugged device end). */
export function closePort(port: SerialPort): Promise<void> {
  return new Promise((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
}
