// The host side of the WASM core: load it, then parse and encode RFC 6455 frames with it.
import { Core, type CoreOptions } from "./core.js";
import { compileModule, fetchBytes, instantiate } from "./wasm.js";

export * from "./api.js";

/** Loads and instantiates a core: from the package's build/ (or `wasmDir`), from disk for file: URLs, else by fetch. */
export async function loadCore(options: CoreOptions = {}): Promise<Core> {
  const { module, flavour } = await compileModule(options.simd, options.wasmDir, readFileOrFetch);
  return new Core(instantiate(module), flavour, options);
}

async function readFileOrFetch(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  if (url.protocol !== "file:") return fetchBytes(url);
  const { readFile } = await import("node:fs/promises");
  return new Uint8Array(await readFile(url));
}
