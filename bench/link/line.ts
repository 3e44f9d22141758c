// A serial line on the firmware simulator's virtual clock, for the goodput bench: each direction
// carries bytes at the line's pace (8N1: ten bit times per byte, so 11,520 bytes/s at 115,200
// baud), one write after the other, optionally through the simulator's fault injector. Nothing
// waits for real time: a minute of a saturated line runs in a fraction of a second.
import type { LinkSession } from "../../src/link/index.js";
import type { LineFaults } from "../../firmware-sim/faults.js";
import type { Scheduler, Timer } from "../../firmware-sim/scheduler.js";

/** 8N1: a start bit, eight data bits, a stop bit. */
export const BITS_PER_BYTE = 10;

/**
 * Bytes a receiving UART hands over at once: a 16550's receive FIFO. The reader gets each
 * chunk when the stop bit of its last byte has arrived, never sooner.
 */
export const RX_FIFO_BYTES = 16;

/** The most bytes per second a line at `baud` carries, 8N1. */
export const lineBytesPerSecond = (baud: number): number => baud / BITS_PER_BYTE;

/** One direction of a serial line: bytes leave in order at the line's pace and reach `deliver` as they arrive. */
export class PacedLine {
  readonly #scheduler: Scheduler;
  readonly #bytesPerMs: number;
  readonly #deliver: (bytes: Uint8Array) => void;
  readonly #faults: LineFaults | undefined;
  #idleAt = 0;
  /** Bytes that have crossed the line so far (as sent: the damage the far end sees is not counted). */
  arrived = 0;

  constructor(scheduler: Scheduler, baud: number, deliver: (bytes: Uint8Array) => void, faults?: LineFaults) {
    this.#scheduler = scheduler;
    this.#bytesPerMs = lineBytesPerSecond(baud) / 1000;
    this.#deliver = deliver;
    this.#faults = faults;
  }

  /** When everything written so far has left the transmitter (ms on the scheduler's clock). */
  get idleAt(): number {
    return this.#idleAt;
  }

  /** Queues `bytes` behind what is still being sent. */
  write(bytes: Uint8Array): void {
    const copy = bytes.slice();
    const start = Math.max(this.#scheduler.now(), this.#idleAt);
    for (let at = 0; at < copy.length; at += RX_FIFO_BYTES) {
      const chunk = copy.subarray(at, at + RX_FIFO_BYTES);
      const arrival = start + (at + chunk.length) / this.#bytesPerMs;
      // Faults are applied in arrival order: the injector's state runs along the byte stream.
      this.#scheduler.at(arrival, () => {
        this.arrived += chunk.length;
        this.#deliver(this.#faults ? this.#faults.apply(chunk) : chunk);
      });
    }
    this.#idleAt = start + copy.length / this.#bytesPerMs;
  }
}

export interface SessionTimers {
  /** Call after every call into the session: re-arms the one timer for its next deadline. */
  rearm(): void;
  /** No more ticks (the end is gone). */
  cancel(): void;
}

/** Runs a link session's timers (SYNC, ping, retransmission) on `scheduler`. */
export function sessionTimers(scheduler: Scheduler, session: () => LinkSession): SessionTimers {
  let timer: Timer | undefined;
  let armedAt = Infinity;
  const cancel = (): void => {
    timer?.cancel();
    timer = undefined;
    armedAt = Infinity;
  };
  const rearm = (): void => {
    const at = session().nextTimeout();
    if (at === armedAt) return;
    cancel();
    armedAt = at;
    if (at === Infinity) return;
    timer = scheduler.at(at, () => {
      timer = undefined;
      armedAt = Infinity;
      session().tick();
      rearm();
    });
  };
  return { rearm, cancel };
}
