// The MQTT client's event emitter: Node's EventEmitter at run time (the browser build's small
// one, src/browser/events.ts, in a page), typed by the methods both have, declared here, so that
// the client's declarations need no @types/node: a page's TypeScript sees the client's events.
import { EventEmitter } from "node:events";

type Listener<A extends unknown[]> = (...args: A) => void;

export interface TypedEmitter<Events extends Record<keyof Events, unknown[]>> {
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this;
  addListener<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this;
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this;
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this;
  removeListener<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this;
  removeAllListeners(event?: keyof Events): this;
  emit<K extends keyof Events>(event: K, ...args: Events[K]): boolean;
  listenerCount(event: keyof Events): number;
  listeners<K extends keyof Events>(event: K): Array<Listener<Events[K]>>;
}

export const Emitter = EventEmitter as unknown as new <Events extends Record<keyof Events, unknown[]>>() => TypedEmitter<Events>;
