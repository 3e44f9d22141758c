import type { Core, CoreOptions } from "./core.js";
import { loadCoreSync } from "./node.js";

/**
 * Cores for any number of connections: each core has a fixed number of slots, so when all of
 * a core's slots are taken another core of the same size is created. Memory still never
 * grows inside a core; it grows by whole cores, and only with the connection count.
 *
 * Pool cores default to 4,096 slots: a slot's 256 bytes are reserved, but pages the core has
 * never written cost no RSS, so a large core costs little until it is used, and the arenas
 * (shared by all of a core's connections) are paid once per 4,096 connections.
 */
export class CorePool {
  readonly #options: CoreOptions;
  readonly #cores: Core[] = [];

  constructor(options: CoreOptions = {}) {
    this.#options = { maxConnections: 4096, ...options };
  }

  /** A core with at least one free slot. */
  acquire(): Core {
    for (const core of this.#cores) if (core.freeSlots > 0) return core;
    const core = loadCoreSync(this.#options);
    this.#cores.push(core);
    return core;
  }

  get cores(): readonly Core[] {
    return this.#cores;
  }
}

let shared: CorePool | undefined;

/** The process-wide pool that WebSockets use unless given a core. */
export function sharedCorePool(): CorePool {
  return (shared ??= new CorePool());
}
