// WHATWG-style event objects and the `addEventListener` / `onX` surface over an EventEmitter,
// shaped like ws's event-target.js so code written for browsers or ws runs unchanged.
import type { EventEmitter } from "node:events";

export class WsEvent {
  readonly type: string;
  readonly target: unknown;
  constructor(type: string, target: unknown) {
    this.type = type;
    this.target = target;
  }
}

/** A message's data: a string for text; for binary, what `binaryType` asks for ("fragments": Buffer[]). */
export type MessageData = string | Buffer | ArrayBuffer | Blob | Buffer[];

export class MessageEvent extends WsEvent {
  readonly data: MessageData;
  constructor(data: MessageData, target: unknown) {
    super("message", target);
    this.data = data;
  }
}

export class CloseEvent extends WsEvent {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  constructor(code: number, reason: string, wasClean: boolean, target: unknown) {
    super("close", target);
    this.code = code;
    this.reason = reason;
    this.wasClean = wasClean;
  }
}

export class ErrorEvent extends WsEvent {
  readonly error: Error;
  readonly message: string;
  constructor(error: Error, target: unknown) {
    super("error", target);
    this.error = error;
    this.message = error.message;
  }
}

/** The event each type delivers (ws's WebSocketEventMap). */
export interface WsEventMap {
  open: WsEvent;
  message: MessageEvent;
  close: CloseEvent;
  error: ErrorEvent;
}
export type WsEventType = keyof WsEventMap;
/** An `onmessage`-style handler. */
export type WsEventHandler<K extends WsEventType> = (event: WsEventMap[K]) => void;
/** What `addEventListener` takes: a function or an object with `handleEvent`. */
export type WsEventListener<K extends WsEventType> = WsEventHandler<K> | { handleEvent(event: WsEventMap[K]): void };
const WRAPPED = Symbol("edgews.wrapped");
const ON_PROPERTY = Symbol("edgews.onProperty");

/** The emitter's listener for a user's listener, which it remembers for removal. */
type Wrapper = ((...args: unknown[]) => void) & { [WRAPPED]?: unknown; [ON_PROPERTY]?: boolean };

/** Turns the emitter's arguments for `type` into the WHATWG event object. */
export type EventFactory = (type: WsEventType, args: unknown[]) => WsEvent;

export function addEventListener<K extends WsEventType>(
  emitter: EventEmitter, make: EventFactory, type: K, listener: WsEventListener<K>, options: { once?: boolean } = {}, onProperty = false,
): void {
  for (const existing of emitter.listeners(type) as Wrapper[]) {
    if (existing[WRAPPED] === listener && !existing[ON_PROPERTY]) return;
  }
  const wrapper: Wrapper = (...args: unknown[]) => {
    const event = make(type, args) as WsEventMap[K];
    if (typeof listener === "function") listener.call(emitter, event);
    else listener.handleEvent(event);
  };
  wrapper[WRAPPED] = listener;
  wrapper[ON_PROPERTY] = onProperty;
  if (options.once) emitter.once(type, wrapper);
  else emitter.on(type, wrapper);
}

export function removeEventListener<K extends WsEventType>(emitter: EventEmitter, type: K, listener: WsEventListener<K>): void {
  for (const existing of emitter.listeners(type) as Wrapper[]) {
    if (existing[WRAPPED] === listener && !existing[ON_PROPERTY]) {
      emitter.removeListener(type, existing);
      return;
    }
  }
}

/** The `onmessage`-style property: at most one listener per type, replaced on assignment. */
export function setOnProperty<K extends WsEventType>(emitter: EventEmitter, make: EventFactory, type: K, handler: WsEventHandler<K> | null): void {
  for (const existing of emitter.listeners(type) as Wrapper[]) {
    if (existing[ON_PROPERTY]) emitter.removeListener(type, existing);
  }
  if (typeof handler === "function") addEventListener(emitter, make, type, handler, {}, true);
}

export function getOnProperty<K extends WsEventType>(emitter: EventEmitter, type: K): WsEventHandler<K> | null {
  for (const existing of emitter.listeners(type) as Wrapper[]) {
    if (existing[ON_PROPERTY]) return existing[WRAPPED] as WsEventHandler<K>;
  }
  return null;
}
