// Steps that must happen in the order their causes arrived although some wait for a store write:
// the client's handling of incoming PUBLISH and PUBREL, so that deliveries and acknowledgements
// keep the broker's order when a QoS 2 id is persisted first. A step with nothing to wait for
// runs at once unless earlier steps are still pending.
export class OrderedSteps {
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;
  readonly #onError: (error: Error) => void;

  /** `onError` is told of each exception thrown by a step that had to wait (a step run at once throws to its caller). */
  constructor(onError: (error: Error) => void) {
    this.#onError = onError;
  }

  /** Runs `then` after `wait` (a store write) and after every earlier step, in arrival order. */
  run(wait: Promise<void> | undefined, then: (error?: Error) => void): void {
    if (!wait && this.#pending === 0) return then();
    this.#pending++;
    const done = wait ?? Promise.resolve();
    const settled = done.then(
      () => undefined,
      (error: Error) => error,
    );
    this.#tail = this.#tail.then(async () => {
      const error = await settled;
      this.#pending--;
      try {
        then(error);
      } catch (e) {
        this.#onError(e as Error);
      }
    });
  }
}
