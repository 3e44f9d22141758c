// The small limits both fuzzers give the code under test, so that every input resolves in a
// fraction of a second, and the bounds within which it must reach a final state.

export const FUZZ_LIMITS = {
  maxPayload: 4096,
  maxMessage: 16_384,
  maxFragments: 8,
  /** Pings and pongs per second; generated streams stay below it unless they mean to flood. */
  maxControlFramesPerSecond: 32,
  /** Long enough that a loaded machine does not make it fire on a handshake that was answered. */
  handshakeTimeout: 1000,
  closeTimeout: 1000,
  maxHeaderCount: 30,
  maxHeaderBytes: 4096,
} as const;

/**
 * How long past its own deadline a peer may take to reach a final state. Generous: the machine is
 * shared and loaded; what the fuzzers catch is a peer that waits for 30 s or forever.
 */
export const MARGIN_MS = 2000;

/**
 * An input during which this process's event loop stalled longer than this proves nothing about
 * deadlines (a timer may fire before the bytes that beat it are read): its failures are set
 * aside as inconclusive. A fraction of every deadline above.
 */
export const STARVED_MS = 300;

/** The path the fuzzed server serves; the client fuzzer names each input in its request path. */
export const FUZZ_PATH = "/fuzz";
export const ALLOWED_ORIGIN = "https://ok.example";

/**
 * zlib's conservative deflateBound(): the most a deflate stream of `n` input bytes can take. With
 * permessage-deflate a compressed frame may exceed a limit by this much (README, "Hardened by
 * default"); an uncompressed one may not.
 */
export function deflateBound(n: number): number {
  return n + Math.ceil(n / 8) + Math.ceil(n / 64) + 5;
}
