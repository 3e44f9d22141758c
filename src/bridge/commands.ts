// Commands sent to one device and waiting for its result: each is answered exactly once, with
// the device's result, or "timeout", or "offline" when the device goes away first.
import type { ResultMessage } from "./mapping.js";

export interface CommandLimits {
  /** Commands sent to a device and not yet answered; beyond, a new one is answered "busy". Default 16. */
  maxPendingCommands: number;
  /** ms to wait for a device's result before answering "timeout". Default 10,000. */
  commandTimeout: number;
}

export const DEFAULT_COMMAND_LIMITS: CommandLimits = { maxPendingCommands: 16, commandTimeout: 10_000 };

/** Where a result goes: the request's MQTT 5 response topic and correlation data, or the device's result topic. */
export interface ReplyTo {
  topic: string;
  correlationData?: Buffer;
}

export interface PendingCommand {
  name: string;
  transaction?: unknown;
  reply: ReplyTo;
}

interface Waiting extends PendingCommand {
  timer: ReturnType<typeof setTimeout>;
}

export class CommandTable {
  readonly #limits: CommandLimits;
  readonly #answer: (command: PendingCommand, result: ResultMessage) => void;
  readonly #waiting = new Map<number, Waiting>();
  /** Ids start at random: a late result for a previous run's command must not match a new one. */
  #nextId = Math.floor(Math.random() * 0x10000);
  timeouts = 0;

  /** `answer` publishes the bridge's own answers (timeout, offline). */
  constructor(limits: CommandLimits, answer: (command: PendingCommand, result: ResultMessage) => void) {
    this.#limits = limits;
    this.#answer = answer;
  }

  get size(): number {
    return this.#waiting.size;
  }

  /** Reserves an id for `command` and starts its timeout; undefined when maxPendingCommands are waiting. */
  add(command: PendingCommand, timeoutMessage: string): number | undefined {
    if (this.#waiting.size >= this.#limits.maxPendingCommands) return undefined;
    let id = this.#nextId;
    while (this.#waiting.has(id)) id = (id + 1) & 0xffff;
    this.#nextId = (id + 1) & 0xffff;
    const timer = setTimeout(() => {
      this.#waiting.delete(id);
      this.timeouts++;
      this.#answer(command, bridgeAnswer(command, "timeout", timeoutMessage));
    }, this.#limits.commandTimeout);
    this.#waiting.set(id, { ...command, timer });
    return id;
  }

  /** The command a device result answers (removed), or undefined for a late or unknown id. */
  take(id: number): PendingCommand | undefined {
    const waiting = this.#waiting.get(id);
    if (!waiting) return undefined;
    clearTimeout(waiting.timer);
    this.#waiting.delete(id);
    const { timer: _timer, ...command } = waiting;
    return command;
  }

  /** Answers every waiting command with `status` (the device went away). */
  failAll(status: "offline", error: string): void {
    const waiting = [...this.#waiting.values()];
    this.close();
    for (const command of waiting) this.#answer(command, bridgeAnswer(command, status, error));
  }

  /** Forgets every waiting command without answering (the bridge is stopping). */
  close(): void {
    for (const waiting of this.#waiting.values()) clearTimeout(waiting.timer);
    this.#waiting.clear();
  }
}

/** An answer the bridge makes itself for `command`, with its transaction echoed. */
export function bridgeAnswer(command: Pick<PendingCommand, "name" | "transaction">, status: ResultMessage["status"], error: string): ResultMessage {
  return { command: command.name, status, error, ...(command.transaction !== undefined ? { transaction: command.transaction } : {}) };
}
