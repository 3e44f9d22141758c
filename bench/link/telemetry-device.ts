// A device for the bridge bench: src/link's device end with the simulator's small-MCU settings,
// on the device end of a pty, that says hello once its link is up and then sends the bench's
// 64-byte telemetry at a fixed rate, each message numbered. It tells `onSent` when each message
// left (the moment its bytes went to the pty), so that a subscriber behind the bridge and the
// broker can time it. The firmware simulator's own devices send readings that do not say which
// message they are; this one does, and does nothing else.
import { LinkSession, MessageKind, encodeHello, type Hello } from "../../src/link/index.js";
import { DEVICE_LINK_DEFAULTS } from "../../firmware-sim/device.js";
import { TtyEnd } from "../../firmware-sim/pty.js";
import { RealScheduler, type Timer } from "../../firmware-sim/scheduler.js";
import { sessionTimers, type SessionTimers } from "./line.js";
import { benchHello, telemetryBody } from "./telemetry.js";

export interface TelemetryDeviceOptions {
  id: string;
  /** The device end of a pty pair. */
  path: string;
  /** Telemetry messages per second. */
  rate: number;
  /** Called as each message is written: its sequence number and the time (performance.now()). */
  onSent(seq: number, at: number): void;
  /** The pty failed: the device stops. */
  onError(error: Error): void;
}

export class TelemetryDevice {
  readonly hello: Hello;
  readonly #options: TelemetryDeviceOptions;
  readonly #scheduler = new RealScheduler();
  readonly #end: TtyEnd;
  readonly #session: LinkSession;
  readonly #timers: SessionTimers;
  #helloDelivered = false;
  #helloId = 0;
  #seq = 0;
  #next: Timer | undefined;
  #stopped = false;

  constructor(options: TelemetryDeviceOptions) {
    this.#options = options;
    this.hello = benchHello(options.id);
    const helloBody = encodeHello(this.hello);
    this.#end = new TtyEnd(options.path, (bytes) => this.#enter(() => this.#session.receive(bytes)), (error) => this.#fail(error));
    this.#timers = sessionTimers(this.#scheduler, () => this.#session);
    this.#session = new LinkSession({ ...DEVICE_LINK_DEFAULTS }, {
      write: (bytes) => this.#end.write(bytes),
      message: () => {},
      // A bridge that restarted learns the device again from its hello, as from any device.
      up: () => {
        this.#helloDelivered = false;
        this.#helloId = this.#session.sendReliable(MessageKind.Hello, helloBody);
      },
      delivered: (id) => void (id === this.#helloId && (this.#helloDelivered = true)),
    });
    this.#enter(() => this.#session.tick());
  }

  /** Telemetry every 1/rate s from now, from a random phase so that devices do not all send at once. */
  start(): void {
    const period = 1000 / this.#options.rate;
    let at = this.#scheduler.now() + Math.random() * period;
    const send = () => {
      if (this.#stopped) return;
      if (this.#helloDelivered) this.#enter(() => this.#sendTelemetry());
      at += period;
      this.#next = this.#scheduler.at(at, send);
    };
    this.#next = this.#scheduler.at(at, send);
  }

  stop(): void {
    this.#stopped = true;
    this.#next?.cancel();
    this.#timers.cancel();
    this.#end.close();
  }

  #sendTelemetry(): void {
    const seq = this.#seq++;
    const at = performance.now();
    const body = telemetryBody(this.hello, seq);
    if (this.#session.sendBestEffort(MessageKind.Telemetry, body)) this.#options.onSent(seq, at);
  }

  #enter(work: () => void): void {
    if (this.#stopped) return;
    work();
    this.#timers.rearm();
  }

  #fail(error: Error): void {
    if (this.#stopped) return;
    this.stop();
    this.#options.onError(error);
  }
}
