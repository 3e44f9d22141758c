// A minimal EventEmitter for the browser build: what the MQTT client and mqtt-packet use of
// Node's. scripts/build-dist.mjs puts it in place of `node:events` in dist/browser/; Node never
// loads it. Listener lists are copied on change, so emit runs over a stable list.
type Listener = (...args: any[]) => void;
type Wrapped = Listener & { listener?: Listener };

export class EventEmitter {
  #listeners = new Map<string | symbol, Wrapped[]>();

  on(event: string | symbol, listener: Listener): this {
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), listener]);
    return this;
  }

  addListener(event: string | symbol, listener: Listener): this {
    return this.on(event, listener);
  }

  once(event: string | symbol, listener: Listener): this {
    const wrapper: Wrapped = (...args) => {
      this.off(event, wrapper);
      listener.apply(this, args);
    };
    wrapper.listener = listener;
    return this.on(event, wrapper);
  }

  off(event: string | symbol, listener: Listener): this {
    const list = this.#listeners.get(event) ?? [];
    let at = list.length - 1;
    while (at >= 0 && list[at] !== listener && list[at]!.listener !== listener) at--;
    if (at >= 0) this.#listeners.set(event, [...list.slice(0, at), ...list.slice(at + 1)]);
    return this;
  }

  removeListener(event: string | symbol, listener: Listener): this {
    return this.off(event, listener);
  }

  removeAllListeners(event?: string | symbol): this {
    if (event === undefined) this.#listeners.clear();
    else this.#listeners.delete(event);
    return this;
  }

  /** Calls the listeners; an 'error' nobody listens to is thrown, as in Node. */
  emit(event: string | symbol, ...args: unknown[]): boolean {
    const list = this.#listeners.get(event);
    if (!list || list.length === 0) {
      if (event === "error") throw args[0] instanceof Error ? args[0] : new Error(`unhandled 'error' event: ${String(args[0])}`);
      return false;
    }
    for (const listener of list) listener.apply(this, args);
    return true;
  }

  listenerCount(event: string | symbol): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  listeners(event: string | symbol): Listener[] {
    return (this.#listeners.get(event) ?? []).map((l) => l.listener ?? l);
  }
}
