// Synchronous loading for Node, where reading the module from disk can't wait.
import { readFileSync } from "node:fs";
import { Core, type CoreOptions } from "./core.js";
import { instantiate, pickFlavour, wantsSimd, wasmUrl, type Flavour } from "./wasm.js";

const modules = new Map<Flavour, WebAssembly.Module>();

function moduleSync(simd?: boolean): { module: WebAssembly.Module; flavour: Flavour } {
  const flavour = wantsSimd(simd) ? pickFlavour(readFileSync(wasmUrl("simd"))) : "scalar";
  let module = modules.get(flavour);
  if (!module) {
    module = new WebAssembly.Module(readFileSync(wasmUrl(flavour)));
    modules.set(flavour, module);
  }
  return { module, flavour };
}

/** Loads and instantiates a core synchronously (Node only). */
export function loadCoreSync(options: CoreOptions = {}): Core {
  const { module, flavour } = moduleSync(options.simd);
  return new Core(instantiate(module), flavour, options);
}

export * from "./index.js";
