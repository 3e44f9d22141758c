// Finds, picks and instantiates the core's .wasm. Nothing here needs Node: the same module
// runs in browsers (node.ts adds the synchronous Node loader).
import { CoreError } from "./errors.js";

/** The raw exports of assembly/index.ts. */
export interface CoreExports {
  memory: WebAssembly.Memory;
  init(connections: number, arenaBytes: number, events: number): number;
  mask(ptr: number, len: number, key: number): void;
  isValidUtf8(ptr: number, len: number): number;
  utf8Step(ptr: number, len: number, state: number): number;
  openSlot(slot: number, role: number, options: number, maxPayload: number, maxMessage: number, maxFragments: number): number;
  closeSlot(slot: number): void;
  feed(slot: number, ptr: number, len: number): number;
  isValidCloseCode(code: number): number;
  encode(opcode: number, rsv1: number, fin: number, src: number, len: number, fragmentSize: number, masked: number): number;
  encodeHeader(opcode: number, rsv1: number, fin: number, length: number, masked: number): number;
  maskKeysLeft(): number;
  maskPoolRefilled(): void;
  eventsPtr(): number;
  eventsCount(): number;
  inputPtr(): number;
  inputSize(): number;
  scratchPtr(): number;
  outputPtr(): number;
  outputSize(): number;
  maskPoolPtr(): number;
  encodedSize(): number;
}

export type Flavour = "simd" | "scalar";

/** The package's build/ folder, relative to this module (src/core/ or dist/core/). */
const DEFAULT_WASM_DIR = new URL("../../build/", import.meta.url);

/** Where a flavour's module lives: in `dir` (a folder URL ending in "/"), or the package's build/. */
export function wasmUrl(flavour: Flavour, dir: URL | string = DEFAULT_WASM_DIR): URL {
  return new URL(`edgews-${flavour}.wasm`, dir);
}

/**
 * Whether to try the SIMD build: yes unless the caller says no, or, when the caller doesn't say,
 * EDGEWS_NO_SIMD=1 is set in Node (like ws's WS_NO_BUFFER_UTIL).
 */
export function wantsSimd(simd?: boolean): boolean {
  if (simd !== undefined) return simd;
  const value = typeof process !== "undefined" ? process.env?.EDGEWS_NO_SIMD : undefined;
  return value === undefined || value === "" || value === "0";
}

/** SIMD when wanted and the engine validates it (older Safari and some embedded runtimes don't). */
export function pickFlavour(simdBytes: BufferSource | undefined): Flavour {
  return simdBytes !== undefined && WebAssembly.validate(simdBytes) ? "simd" : "scalar";
}

export function instantiate(module: WebAssembly.Module): CoreExports {
  return new WebAssembly.Instance(module, {}).exports as unknown as CoreExports;
}

/** How the loader reads a module's bytes: fetch, or (Node's loader) the file system for file: URLs. */
export type ReadBytes = (url: URL) => Promise<Uint8Array<ArrayBuffer>>;

export async function fetchBytes(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  const response = await fetch(url);
  // A 404 page is not "an engine without SIMD": say what is missing.
  if (!response.ok) throw new CoreError(`could not fetch the edgews core from ${url.href}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

type Compiled = { module: WebAssembly.Module; flavour: Flavour };
const compiled = new Map<string, Promise<Compiled>>();

/**
 * Compiles the core's module, read by `read` from `dir` (default: the package's build/), once
 * per folder and SIMD preference (a failure is not remembered, so a later call tries again).
 */
export function compileModule(simd: boolean | undefined, dir: URL | string | undefined, read: ReadBytes): Promise<Compiled> {
  const want = wantsSimd(simd);
  const key = `${want} ${String(dir ?? DEFAULT_WASM_DIR)}`;
  let entry = compiled.get(key);
  if (!entry) {
    entry = compileFrom(want, dir, read);
    compiled.set(key, entry);
    entry.catch(() => compiled.delete(key));
  }
  return entry;
}

async function compileFrom(want: boolean, dir: URL | string | undefined, read: ReadBytes): Promise<Compiled> {
  if (want) {
    const bytes = await read(wasmUrl("simd", dir));
    if (pickFlavour(bytes) === "simd") return { module: await WebAssembly.compile(bytes), flavour: "simd" };
  }
  return { module: await WebAssembly.compile(await read(wasmUrl("scalar", dir))), flavour: "scalar" };
}
