// The host side of the WASM core: load it, then parse and encode RFC 6455 frames with it.
import { Core, type CoreOptions } from "./core.js";
import { compileModule, instantiate } from "./wasm.js";

export { Core, DEFAULT_CORE_OPTIONS, type CoreOptions } from "./core.js";
export { FrameParser, DEFAULT_PARSER_LIMITS, type ParserHandlers, type ParserLimits, type ParserOptions, type Role } from "./parser.js";
export { FrameEncoder, Opcode, encodedSize, headerSize, unmaskedFrame, unmaskedHeader, type EncodeOptions } from "./encoder.js";
export { CoreError, ProtocolError, ErrorKind } from "./errors.js";
export type { Flavour } from "./wasm.js";

/** Loads and instantiates a core (in Node from disk, elsewhere by fetch). */
export async function loadCore(options: CoreOptions = {}): Promise<Core> {
  const { module, flavour } = await compileModule(options.simd, options.wasmDir);
  return new Core(instantiate(module), flavour, options);
}
