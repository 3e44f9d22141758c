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

export class MessageEvent extends WsEvent {
  readonly data: unknown;
  constructor(data: unknown, target: unknown) {
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

export type WsEventType = "open" | "message" | "close" | "error";
type Listener = ((event: never) => void) | { handleEvent(event: never): void };
const WRAPPED = Symbol("edgews.wrapped");
const ON_PROPERTY = Symbol("edgews.onProperty");

type Wrapper = ((...args: unknown[]) => void) & { [WRAPPED]?: Listener; [ON_PROPERTY]?: boolean };

/** Turns the emitter's arguments for `type` into the WHATWG event object. */
export type EventFactory = (type: WsEventType, args: unknown[]) => WsEvent;

export function addEventListener(emitter: EventEmitter, make: EventFactory, type: WsEventType, listener: Listener, options: { once?: boolean } = {}, onProperty = false): void {
  for (const existing of emitter.listeners(type) as Wrapper[]) {
    if (existing[WRAPPED] === listener && !existing[ON_PROPERTY]) return;
  }
  const wrapper: Wrapper = (...args: unknown[]) => {
    const event = make(type, args) as never;
    if (typeof listener === "function") listener.call(emitter, event);
    else listener.handleEvent(event);
  };
  wrapper[WRAPPED] = listener;
  wrapper[ON_PROPERTY] = onProperty;
  if (options.once) emitter.once(type, wrapper);
  else emitter.on(type, wrapper);
}

export function removeEventListener(emitter: EventEmitter, type: WsEventType, listener: Listener): void {
  for (const existing of emitter.listeners(type) as Wrapper[]) {
    if (existing[WRAPPED] === listener && !existing[ON_PROPERTY]) {
      emitter.removeListener(type, existing);
      return;
    }
  }
}

/** The `onmessage`-style property: at most one listener per type, replaced on assignment. */
export function setOnProperty(emitter: EventEmitter, make: EventFactory, type: WsEventType, handler: ((event: never) => void) | null): void {
  for (const existing of emitter.listeners(type) as Wrapper[]) {
    if (existing[ON_PROPERTY]) emitter.removeListener(type, existing);
  }
  if (typeof handler === "function") addEventListener(emitter, make, type, handler, {}, true);
}

export function getOnProperty(emitter: EventEmitter, type: WsEventType): ((event: never) => void) | null {
  for (const existing of emitter.listeners(type) as Wrapper[]) {
    if (existing[ON_PROPERTY]) return existing[WRAPPED] as (event: never) => void;
  }
  return null;
}
