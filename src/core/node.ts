// Synchronous loading for Node, where reading the module from disk can't wait.
import { readFileSync } from "node:fs";
import { Core, type CoreOptions } from "./core.js";
import { instantiate, pickFlavour, wantsSimd, wasmUrl, type Flavour } from "./wasm.js";

const modules = new Map<string, { module: WebAssembly.Module; flavour: Flavour }>();

function moduleSync(simd: boolean | undefined, dir: URL | string | undefined): { module: WebAssembly.Module; flavour: Flavour } {
  const want = wantsSimd(simd);
  const key = `${want} ${String(dir ?? "")}`;
  let entry = modules.get(key);
  if (!entry) {
    const flavour = want ? pickFlavour(readFileSync(wasmUrl("simd", dir))) : "scalar";
    entry = { module: new WebAssembly.Module(readFileSync(wasmUrl(flavour, dir))), flavour };
    modules.set(key, entry);
  }
  return entry;
}

/** Loads and instantiates a core synchronously (Node only). */
export function loadCoreSync(options: CoreOptions = {}): Core {
  const { module, flavour } = moduleSync(options.simd, options.wasmDir);
  return new Core(instantiate(module), flavour, options);
}

export * from "./index.js";
