// One device behind one port: its link session, what it announced (the hello), its
// availability, its commands, and the outbox where everything written to the port waits while
// what the device sent is being stored. The port itself is the port runner's (port-runner.ts); MQTT is the
// host's (bridge.ts): this file decides, they carry.
//
// The outbox is what makes "stored before acknowledged" true: the link acknowledges a reliable
// message in the bytes it writes right after handing the message over, so every byte for the
// port waits while the intake has anything not yet durable, and goes out, in order, once it
// has none. Acknowledgements are cumulative, so holding them holds back nothing that was not
// already stored.
import { LinkError, LinkSession, MessageKind, decodeHello, encodeCommand, type Hello, type LinkOptions, type LinkStats, type ReceiveState } from "../link/index.js";
import type { PublishOptions } from "../mqtt/index.js";
import { CommandTable, bridgeAnswer, type CommandLimits, type PendingCommand, type ReplyTo } from "./commands.js";
import { Intake, type IntakeLimits, type ReliableMessage } from "./intake.js";
import { RESERVED_DEVICE_ID, deviceResult, deviceTopics, eventPayload, logPayload, mergeTelemetry, parseCommand, resultPayload, type ResultMessage } from "./mapping.js";
import type { Taken, TakenStore } from "./taken-store.js";
import { toHex } from "./hex.js";

/** The link options the bridge passes through (timing and sizes; the store and session are the bridge's). */
export type DeviceLinkOptions = Omit<LinkOptions, "store" | "session" | "now">;

export interface DeviceLimits extends IntakeLimits, CommandLimits {
  /**
   * Bytes for the port kept in the outbox while the device's messages are being stored; beyond,
   * the oldest writes are dropped whole (the link repeats what matters). Default 65,536.
   */
  maxOutboxBytes: number;
}

/** What a device session needs from the bridge: MQTT, the ledger, the registry of device ids, a log. */
export interface DeviceHost {
  readonly base: string;
  readonly ledger: Pick<TakenStore, "latest" | "take" | "persist" | "noteHello" | "hello" | "hold" | "release" | "takeHeld">;
  /** Publishes (QoS 1 unless said otherwise); failures are the host's to log. */
  publish(topic: string, payload: string, options?: PublishOptions): void;
  /** Publishes a reliable device message tagged with `taken`; resolves once durable. */
  publishTaken(taken: Taken, topic: string, payload: string, options?: PublishOptions): Promise<void>;
  /** The device's announcements beyond availability (info, Home Assistant discovery). */
  announce(hello: Hello, port: string): void;
  /** Takes `deviceId` for this session; an error message if another online session has it. */
  claim(deviceId: string, session: DeviceSession): string | undefined;
  log(level: "error" | "warn" | "info", message: string): void;
}

export type DeviceState = "closed" | "syncing" | "unnamed" | "online";

/** One port's live figures (also what `edgews bridge --json` prints). */
export interface DeviceStatus {
  port: string;
  device?: string;
  firmware?: string;
  /** closed: the port is not open; syncing: the link is not up; unnamed: up without a usable hello; online. */
  state: DeviceState;
  /** Packets that passed the link's checks, and those it dropped (CRC, COBS, size, header). */
  packetsOk: number;
  packetsBad: number;
  bytesIn: number;
  bytesOut: number;
  /** Times the port was opened again after closing (unplug, error). */
  reconnects: number;
  telemetry: number;
  telemetryDropped: number;
  reliable: number;
  /** Reliable messages stored as they came, waiting for a hello to name the device. */
  held: number;
  reliableDropped: number;
  /** Messages that did not decode or break the protocol (logged). */
  badMessages: number;
  commands: number;
  timeouts: number;
  /** Taken and not yet stored (the device is not acknowledged meanwhile). */
  pendingStore: number;
  /** Bytes for the port waiting for those writes, and writes dropped past maxOutboxBytes. */
  outboxBytes: number;
  outboxDropped: number;
}

interface Mapped {
  topic: string;
  payload: string;
  options?: PublishOptions;
}

const BAD_PACKET_COUNTERS = ["crcErrors", "cobsErrors", "oversize", "truncated", "badVersion", "badHeader"] as const;

export class DeviceSession {
  readonly port: string;
  readonly #host: DeviceHost;
  readonly #limits: DeviceLimits;
  readonly #linkOptions: DeviceLinkOptions;
  readonly #telemetryQos: 0 | 1;
  readonly #intake: Intake;
  readonly #commands: CommandTable;
  #write: ((bytes: Uint8Array) => void) | undefined;
  #link: LinkSession | undefined;
  #linkUp = false;
  #tickTimer: ReturnType<typeof setTimeout> | undefined;
  /** The device session (boot) the link receives from. */
  #peerSession = 0;
  #hello: Hello | undefined;
  /** The device session the hello came in. */
  #helloSession = 0;
  /** Counts hellos: a message held for want of a name takes the first hello after it. */
  #helloGeneration = 0;
  #online = false;
  /** Channel name -> latest reading: the state topic's payload. */
  #state: Record<string, unknown> = {};
  #outbox: Uint8Array[] = [];
  #outboxBytes = 0;
  #attachments = 0;
  /** Counters of links that were replaced, so that the status covers the whole port's life. */
  #retired = { packetsOk: 0, packetsBad: 0 };
  readonly #counters = { bytesIn: 0, bytesOut: 0, badMessages: 0, commands: 0, outboxDropped: 0 };

  constructor(port: string, options: { limits: DeviceLimits; link: DeviceLinkOptions; telemetryQos: 0 | 1 }, host: DeviceHost) {
    this.port = port;
    this.#host = host;
    this.#limits = options.limits;
    this.#linkOptions = options.link;
    this.#telemetryQos = options.telemetryQos;
    this.#intake = new Intake(options.limits, {
      persist: (taken) => host.ledger.persist(taken),
      hold: ({ message, taken }) => host.ledger.hold({ taken, kind: message.kind, body: message.body }),
      release: ({ message, taken }) => host.ledger.release({ taken, kind: message.kind, body: message.body }),
      idle: () => this.#release(),
      storeFailed: (error) => host.log("warn", `${port}: storing a message failed, retrying in ${options.limits.retryDelay} ms: ${error.message}`),
      reliableDropped: () => host.log("error", `${port}: a reliable message was dropped: ${options.limits.maxPendingReliable} are waiting to be stored (maxPendingReliable) while the device is not acknowledged`),
    });
    this.#commands = new CommandTable(options.limits, (command, result) => this.#answer(command.reply, result));
    // Held by an earlier run: named by the first hello this run learns.
    this.#intake.restoreHeld(host.ledger.takeHeld(port).map(({ taken, kind, body }) => ({ taken, message: this.#reliable(kind, body, taken.peerSession, -1, undefined) })));
  }

  get online(): boolean {
    return this.#online;
  }

  // ---- the port ------------------------------------------------------------------------

  /** The port is open: bytes for it go to `write`. A fresh link session starts. */
  attach(write: (bytes: Uint8Array) => void): void {
    this.#write = write;
    this.#attachments++;
    this.#renewLink();
  }

  /** Bytes read from the port. */
  receive(bytes: Uint8Array): void {
    this.#counters.bytesIn += bytes.length;
    this.#link?.receive(bytes);
    this.#scheduleTick();
  }

  /** The port closed (unplugged, failed): the device is offline until it is open again. */
  detach(): void {
    this.#write = undefined;
    this.#clearOutbox();
    this.#retireLink();
    this.#setLinkUp(false);
  }

  /** The bridge is stopping: offline, timers stopped; what waits unstored the device sends again later. */
  close(): void {
    this.detach();
    this.#intake.close();
    this.#commands.close();
  }

  // ---- the link ------------------------------------------------------------------------

  /**
   * A new link session for this port, on the receive state the ledger holds: at attach, and
   * whenever the device went offline, so that commands answered "offline" are not delivered
   * later by the old session's queue.
   */
  #renewLink(): void {
    this.#retireLink();
    if (!this.#write) return;
    const store = { load: () => this.#load(), save: (state: ReceiveState) => link === this.#link && this.#onSave(state) };
    const link: LinkSession = new LinkSession({ ...this.#linkOptions, store }, {
      write: (bytes) => link === this.#link && this.#output(bytes),
      message: (kind, body, reliable) => link === this.#link && this.#onMessage(kind, body, reliable),
      up: () => link === this.#link && this.#setLinkUp(true),
      down: () => link === this.#link && this.#linkLost(),
      closed: () => link === this.#link && this.#linkLost(),
      error: (error) => this.#host.log("warn", `${this.port}: ${error.message}`),
    });
    this.#link = link;
    this.#link.tick();
    this.#scheduleTick();
  }

  #load(): ReceiveState | undefined {
    const state = this.#host.ledger.latest(this.port);
    this.#peerSession = state?.peerSession ?? 0;
    // After a bridge restart the device may not say hello again (it never saw the link go down).
    const stored = this.#host.ledger.hello(this.port);
    if (!this.#hello && stored && stored.peerSession === this.#peerSession) this.#onHello(stored.body, false);
    return state;
  }

  #retireLink(): void {
    const link = this.#link;
    if (!link) return;
    this.#link = undefined;
    clearTimeout(this.#tickTimer);
    this.#tickTimer = undefined;
    const stats = link.stats;
    this.#retired.packetsOk += stats.packets;
    this.#retired.packetsBad += badPackets(stats);
  }

  #linkLost(): void {
    this.#setLinkUp(false);
    queueMicrotask(() => this.#renewLink());
  }

  #scheduleTick(): void {
    const link = this.#link;
    if (!link) return;
    clearTimeout(this.#tickTimer);
    const at = link.nextTimeout();
    if (at === Infinity) return;
    this.#tickTimer = setTimeout(() => {
      link.tick();
      this.#scheduleTick();
    }, Math.max(0, at - performance.now()));
  }

  /** The link's receive state moved (a message taken, a new device session adopted). */
  #onSave(state: ReceiveState): void {
    if (state.peerSession !== this.#peerSession) {
      // The device restarted: its hello is to come, and its readings start afresh.
      this.#peerSession = state.peerSession;
      this.#setLinkUp(this.#linkUp);
    }
    this.#intake.taken(this.#host.ledger.take(this.port, state));
  }

  // ---- the outbox: bytes for the port wait while anything taken is not durable -----------

  #output(bytes: Uint8Array): void {
    if (this.#intake.idle && this.#outbox.length === 0) return this.#send(bytes);
    this.#outbox.push(bytes);
    this.#outboxBytes += bytes.length;
    // Whole writes are dropped (each starts with a delimiter, so the rest still frames).
    while (this.#outboxBytes > this.#limits.maxOutboxBytes && this.#outbox.length > 1) {
      this.#outboxBytes -= this.#outbox.shift()!.length;
      this.#counters.outboxDropped++;
    }
  }

  /** Everything taken is durable: the outbox goes out, in order. */
  #release(): void {
    const waiting = this.#outbox;
    this.#clearOutbox();
    for (const bytes of waiting) this.#send(bytes);
  }

  #clearOutbox(): void {
    this.#outbox = [];
    this.#outboxBytes = 0;
  }

  #send(bytes: Uint8Array): void {
    if (!this.#write) return;
    this.#counters.bytesOut += bytes.length;
    this.#write(bytes);
  }

  // ---- what the device sends -------------------------------------------------------------

  #onMessage(kind: number, body: Uint8Array, reliable: boolean): void {
    if (kind === MessageKind.Hello) return this.#onHello(body, true);
    if (kind === MessageKind.Command) {
      this.#bad(`sent a command (kind 0x13), which only the bridge sends: dropped`);
      return;
    }
    const route = kind === MessageKind.Result ? this.#routeResult(body) : undefined;
    if (reliable) return this.#intake.pushMessage(this.#reliable(kind, body, this.#peerSession, this.#helloGeneration, route));
    // Telemetry needs the hello of its own device session: channel indexes mean nothing without it.
    const hello = this.#helloFor(this.#peerSession);
    this.#intake.pushTelemetry(() => {
      const mapped = this.#mapped(kind, body, hello, route);
      if (mapped) this.#host.publish(mapped.topic, mapped.payload, { qos: this.#telemetryQos, ...mapped.options });
    });
  }

  /**
   * A reliable message of device session `session`, taken when `generation` hellos had come:
   * named by the hello of its own session, or else by the first hello after it (a device
   * queues messages before its link is up, so they come before its hello).
   */
  #reliable(kind: number, body: Uint8Array, session: number, generation: number, route: PendingCommand | undefined): ReliableMessage {
    const known = this.#helloFor(session);
    return {
      kind,
      body,
      store: (taken) => {
        const hello = known ?? this.#helloFor(session) ?? (this.#helloGeneration > generation ? this.#hello : undefined);
        if (!hello) return "unnamed";
        const mapped = this.#mapped(kind, body, hello, route);
        return mapped && this.#host.publishTaken(taken, mapped.topic, mapped.payload, mapped.options);
      },
    };
  }

  /** The hello naming the device of `session`, if it is known. */
  #helloFor(session: number): Hello | undefined {
    return this.#hello && this.#helloSession === session ? this.#hello : undefined;
  }

  /** Topic and payload for a message of the device `hello` names; undefined (logged) if it can't have any. */
  #mapped(kind: number, body: Uint8Array, hello: Hello | undefined, route: PendingCommand | undefined): Mapped | undefined {
    if (!hello) {
      this.#bad(`sent telemetry before its hello (channel indexes mean nothing without it): dropped`);
      return undefined;
    }
    const topics = deviceTopics(this.#host.base, hello.deviceId);
    try {
      switch (kind) {
        case MessageKind.Telemetry:
          mergeTelemetry(this.#state, body, hello);
          return { topic: topics.state, payload: JSON.stringify(this.#state) };
        case MessageKind.Event:
          return { topic: topics.event, payload: eventPayload(body) };
        case MessageKind.Log:
          return { topic: topics.log, payload: logPayload(body) };
        case MessageKind.Result:
          return this.#mappedResult(body, route, topics.result);
        default:
          return { topic: `${topics.state}/raw`, payload: JSON.stringify({ kind, data: toHex(body) }) };
      }
    } catch (error) {
      this.#bad((error as Error).message);
      return undefined;
    }
  }

  #mappedResult(body: Uint8Array, route: PendingCommand | undefined, resultTopic: string): Mapped {
    const { result } = deviceResult(body);
    if (!route) return { topic: resultTopic, payload: resultPayload({ ...result, late: true }) };
    const payload = resultPayload({ command: route.name, ...result, ...(route.transaction !== undefined ? { transaction: route.transaction } : {}) });
    return { topic: route.reply.topic, payload, options: replyOptions(route.reply) };
  }

  /** The command a result answers, taken off the table as it arrives (its timeout no longer runs). */
  #routeResult(body: Uint8Array): PendingCommand | undefined {
    try {
      return this.#commands.take(deviceResult(body).id);
    } catch {
      return undefined; // it does not decode: #mapped says so when its turn comes
    }
  }

  /** A hello: from the device (`fresh`: the ledger notes it), or the one stored for its session. */
  #onHello(body: Uint8Array, fresh: boolean): void {
    let hello: Hello;
    try {
      hello = decodeHello(body);
    } catch (error) {
      this.#bad(`sent a hello that does not decode: ${(error as Error).message}`);
      return;
    }
    if (hello.deviceId === RESERVED_DEVICE_ID) {
      this.#bad(`calls itself "${RESERVED_DEVICE_ID}", a name the bridge's own topics use: give it another device id`);
      return;
    }
    const sameDevice = this.#hello?.deviceId === hello.deviceId;
    if (this.#hello && !sameDevice) this.#setOnline(false);
    // A restarted (or another) device starts its state afresh; a hello repeated after a link outage keeps it.
    if (!sameDevice || this.#helloSession !== this.#peerSession) this.#state = {};
    this.#hello = hello;
    this.#helloSession = this.#peerSession;
    this.#helloGeneration++;
    if (fresh) this.#host.ledger.noteHello(this.port, this.#peerSession, body);
    this.#host.announce(hello, this.port);
    this.#setLinkUp(this.#linkUp);
    this.#intake.named();
  }

  #bad(problem: string): void {
    this.#counters.badMessages++;
    this.#host.log("warn", `${this.port}${this.#hello ? ` (${this.#hello.deviceId})` : ""}: ${problem}`);
  }

  // ---- availability ----------------------------------------------------------------------

  #setLinkUp(up: boolean): void {
    this.#linkUp = up;
    const hello = this.#helloFor(this.#peerSession);
    let online = up && hello !== undefined;
    if (online && !this.#online) {
      const conflict = this.#host.claim(hello!.deviceId, this);
      if (conflict) {
        this.#host.log("error", `${this.port}: ${conflict}`);
        online = false;
      }
    }
    this.#setOnline(online);
  }

  #setOnline(online: boolean): void {
    if (online === this.#online) return;
    const hello = this.#hello!;
    this.#online = online;
    this.#host.publish(deviceTopics(this.#host.base, hello.deviceId).availability, online ? "online" : "offline", { qos: 1, retain: true });
    this.#host.log("info", `${this.port}: ${hello.deviceId} ${online ? "online" : "offline"}`);
    if (!online) this.#commands.failAll("offline", `${hello.deviceId} went offline before answering`);
  }

  /** Publishes availability, info and discovery again (after the broker lost retained messages). */
  reannounce(): void {
    if (!this.#hello) return;
    this.#host.announce(this.#hello, this.port);
    this.#host.publish(deviceTopics(this.#host.base, this.#hello.deviceId).availability, this.#online ? "online" : "offline", { qos: 1, retain: true });
  }

  // ---- commands --------------------------------------------------------------------------

  /** A `/set` payload for this device; answered on `reply` (or the device's result topic) whatever happens. */
  command(payload: Uint8Array, reply: ReplyTo | undefined, deviceId: string): void {
    const to = reply ?? { topic: deviceTopics(this.#host.base, deviceId).result };
    const hello = this.#helloFor(this.#peerSession);
    if (!this.#online || !hello || !this.#link) {
      return this.#answer(to, { status: "offline", error: `${deviceId} is offline` });
    }
    const parsed = parseCommand(payload, hello);
    if (!parsed.ok) return this.#answer(to, parsed.answer);
    const { request } = parsed;
    const pending: PendingCommand = { name: request.name, reply: to, ...(request.transaction !== undefined ? { transaction: request.transaction } : {}) };
    const id = this.#commands.add(pending, `no result from ${deviceId} within ${this.#limits.commandTimeout} ms; it may still run: a late result goes to ${deviceTopics(this.#host.base, deviceId).result}`);
    if (id === undefined) return this.#answer(to, bridgeAnswer(pending, "busy", `${this.#limits.maxPendingCommands} commands to ${deviceId} are waiting for results (maxPendingCommands)`));
    try {
      this.#link.sendReliable(MessageKind.Command, encodeCommand({ id, command: request.index, argument: request.argument }, hello));
    } catch (error) {
      if (!(error instanceof LinkError)) throw error;
      this.#commands.take(id);
      return this.#answer(to, bridgeAnswer(pending, error.code === "LINK_QUEUE_FULL" ? "busy" : "bad_argument", error.message));
    }
    this.#counters.commands++;
    this.#scheduleTick();
  }

  #answer(reply: ReplyTo, result: ResultMessage): void {
    this.#host.publish(reply.topic, resultPayload(result), { qos: 1, ...replyOptions(reply) });
  }

  // ---- status ----------------------------------------------------------------------------

  status(): DeviceStatus {
    const stats = this.#link?.stats;
    const intake = this.#intake.counters;
    const hello = this.#hello;
    const state: DeviceState = !this.#write ? "closed" : this.#online ? "online" : this.#linkUp ? "unnamed" : "syncing";
    return {
      port: this.port,
      ...(hello ? { device: hello.deviceId, firmware: hello.firmware } : {}),
      state,
      packetsOk: this.#retired.packetsOk + (stats?.packets ?? 0),
      packetsBad: this.#retired.packetsBad + (stats ? badPackets(stats) : 0),
      bytesIn: this.#counters.bytesIn,
      bytesOut: this.#counters.bytesOut,
      reconnects: Math.max(0, this.#attachments - 1),
      telemetry: intake.telemetryPublished,
      telemetryDropped: intake.telemetryDropped,
      reliable: intake.reliablePublished,
      held: this.#intake.held,
      reliableDropped: intake.reliableDropped,
      badMessages: this.#counters.badMessages,
      commands: this.#counters.commands,
      timeouts: this.#commands.timeouts,
      pendingStore: this.#intake.pending,
      outboxBytes: this.#outboxBytes,
      outboxDropped: this.#counters.outboxDropped,
    };
  }
}

function badPackets(stats: LinkStats): number {
  return BAD_PACKET_COUNTERS.reduce((sum, name) => sum + stats[name], 0);
}

function replyOptions(reply: ReplyTo): PublishOptions | undefined {
  return reply.correlationData ? { properties: { correlationData: reply.correlationData } } : undefined;
}
