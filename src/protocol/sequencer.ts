/**
 * Runs tasks strictly in order. A task may be synchronous or return a promise; while nothing
 * is pending a synchronous task runs at once (the common, uncompressed case allocates nothing).
 * Used to keep messages in order around asynchronous (de)compression.
 */
export class Sequencer {
  #tail: Promise<void> | undefined;
  #pending = 0;
  readonly #onError: (error: unknown) => void;
  readonly #onIdle: (() => void) | undefined;

  constructor(onError: (error: unknown) => void, onIdle?: () => void) {
    this.#onError = onError;
    this.#onIdle = onIdle;
  }

  /** Tasks queued or running asynchronously. */
  get pending(): number {
    return this.#pending;
  }

  run(task: () => void | Promise<void>): void {
    if (this.#tail !== undefined) {
      this.#chain(this.#tail.then(task));
      return;
    }
    let result: void | Promise<void>;
    try {
      result = task();
    } catch (error) {
      this.#onError(error);
      return;
    }
    if (result) this.#chain(result);
  }

  #chain(work: Promise<void>): void {
    this.#pending++;
    this.#tail = work.then(undefined, this.#onError).then(() => {
      if (--this.#pending > 0) return;
      this.#tail = undefined;
      this.#onIdle?.();
    });
  }
}
