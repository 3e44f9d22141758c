// What edgews/core offers in Node and in browsers alike; index.ts (Node and default) and
// browser.ts (the browser build) each add their loadCore.
export { Core, DEFAULT_CORE_OPTIONS, type CoreOptions } from "./core.js";
export { FrameParser, DEFAULT_PARSER_LIMITS, type ParserHandlers, type ParserLimits, type ParserOptions, type Role } from "./parser.js";
export { FrameEncoder, Opcode, encodedSize, headerSize, unmaskedFrame, unmaskedHeader, type EncodeOptions } from "./encoder.js";
export { CoreError, ProtocolError, ErrorKind } from "./errors.js";
export type { Flavour } from "./wasm.js";
