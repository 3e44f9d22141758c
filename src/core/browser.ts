// edgews/core in a browser (package.json "exports" condition "browser", built into dist/browser/
// with the two .wasm files beside it): the module is fetched from next to the script that holds
// this code, i.e. next to your bundle, unless `wasmDir` says where.
import { Core, type CoreOptions } from "./core.js";
import { compileModule, fetchBytes, instantiate } from "./wasm.js";

export * from "./api.js";

/**
 * Fetches, compiles (once per page) and instantiates a core. The .wasm files
 * (edgews-simd.wasm, edgews-scalar.wasm) are looked for next to the script, or in `wasmDir`.
 */
export async function loadCore(options: CoreOptions = {}): Promise<Core> {
  const { module, flavour } = await compileModule(options.simd, options.wasmDir ?? new URL("./", import.meta.url), fetchBytes);
  return new Core(instantiate(module), flavour, options);
}
