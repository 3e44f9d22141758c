// Finds, picks and instantiates the core's .wasm. Nothing here needs Node: the same module
// runs in browsers (node.ts adds the synchronous Node loader).

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

export function wasmUrl(flavour: Flavour): URL {
  return new URL(`../../build/edgews-${flavour}.wasm`, import.meta.url);
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

async function readBytes(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  if (url.protocol === "file:") {
    const { readFile } = await import("node:fs/promises");
    return new Uint8Array(await readFile(url));
  }
  return new Uint8Array(await (await fetch(url)).arrayBuffer());
}

const compiled = new Map<Flavour, Promise<WebAssembly.Module>>();

/** Compiles the core's module once per flavour, from disk in Node and by fetch elsewhere. */
export async function compileModule(simd?: boolean): Promise<{ module: WebAssembly.Module; flavour: Flavour }> {
  const simdBytes = wantsSimd(simd) ? await readBytes(wasmUrl("simd")) : undefined;
  const flavour = pickFlavour(simdBytes);
  let module = compiled.get(flavour);
  if (!module) {
    const bytes = flavour === "simd" && simdBytes ? simdBytes : await readBytes(wasmUrl("scalar"));
    module = WebAssembly.compile(bytes);
    compiled.set(flavour, module);
  }
  return { module: await module, flavour };
}
