// Parsing throughput as a server: a prebuilt stream of masked client frames, fed in 1460-byte
// chunks (one TCP segment each) to our FrameParser and to ws's Receiver.
import { FrameParser, type Core } from "../../src/core/node.js";
import { asciiText, chunks, maskedFrames, mixedText, randomBytes } from "../data.js";
import type { Contender } from "../measure.js";
import { ws } from "../peers.js";
import type { Baseline, BenchSpec, CaseSpec } from "../types.js";

const CHUNK = 1460;
const STREAM_BYTES = 4 * 1024 * 1024;
const QUICK_STREAM_BYTES = 256 * 1024;
const OP_TEXT = 1;
const OP_BINARY = 2;
const SIZES = { "16B": 16, "1KiB": 1024, "64KiB": 64 * 1024 } as const;

/** Feeds one chunk to a parser; `onMessage` counts what it delivers. */
type Feeder = (chunk: Buffer) => void;

function ours(core: Core, onMessage: () => void): Feeder {
  const parser = new FrameParser(core, { role: "server" }, {
    onMessage,
    onError: (error) => {
      throw error;
    },
  });
  return (chunk) => parser.push(chunk);
}

/** What ws's WebSocket does with each socket chunk: `receiver.write(chunk)`. */
function theirs(onMessage: () => void): Feeder {
  const receiver = new ws.Receiver({ isServer: true, maxPayload: 0, extensions: {}, binaryType: "nodebuffer", skipUTF8Validation: false });
  receiver.on("message", onMessage);
  // ws reports errors on a later tick; a missing message fails the count below right away.
  receiver.on("error", (error) => console.error(`ws: ${error.message}`));
  return receiver.write.bind(receiver);
}

/**
 * Parses the whole stream per run. ws unmasks payloads in place in the chunks it is given, so
 * each run starts from a fresh copy of the stream (untimed, done for both sides alike).
 */
function parsing(stream: Buffer, frames: number, make: (onMessage: () => void) => Feeder): Contender {
  const work = Buffer.from(stream);
  const pieces = chunks(work, CHUNK);
  let received = 0;
  const feed = make(() => received++);
  return {
    prepare: () => work.set(stream),
    run() {
      received = 0;
      for (const piece of pieces) feed(piece);
      if (received !== frames) throw new Error(`parsed ${received} messages of ${frames}`);
      return frames;
    },
  };
}

type Payload = "text" | "binary" | "text-mixed";

/** ASCII text (JSON-like traffic: the core unmasks and checks it in one pass), random binary, or mixed-script text (full UTF-8 validation). */
const payloads: Record<Payload, (size: number) => Buffer> = {
  text: (size) => asciiText(size, 21),
  binary: (size) => randomBytes(size, 20),
  "text-mixed": (size) => mixedText(size, 23),
};

/** `selfCheck`: ws against ws, to show the noise floor. */
const parseCase = (size: string, bytes: number, payload: Payload, selfCheck = false): CaseSpec => ({
  name: `${selfCheck ? "noise-floor-" : ""}${size}-${payload}`,
  baselines: selfCheck ? ["ws"] : ["ws", "ws-js"],
  setup(_baseline: Baseline, env) {
    const frames = Math.max(4, Math.ceil((env.quick ? QUICK_STREAM_BYTES : STREAM_BYTES) / (bytes + 14)));
    const stream = maskedFrames(payloads[payload](bytes), payload === "binary" ? OP_BINARY : OP_TEXT, frames, 22);
    const core = env.core();
    return {
      ours: parsing(stream, frames, selfCheck ? theirs : (onMessage) => ours(core, onMessage)),
      theirs: parsing(stream, frames, theirs),
    };
  },
  note: selfCheck ? `noise-floor-${size}-${payload}: ws against itself (both columns are ws's Receiver).` : undefined,
});

export const parse: BenchSpec = {
  name: "parse",
  unit: "frames/s",
  divisor: 1,
  header: "server-side parsing of masked frames in 1460-byte chunks, frames/s, higher is better; ratio = ours/theirs, > 1: ours is faster",
  cases: [
    ...(["16B", "1KiB", "64KiB"] as const).flatMap((size) => [parseCase(size, SIZES[size], "text"), parseCase(size, SIZES[size], "binary")]),
    parseCase("1KiB", SIZES["1KiB"], "text-mixed"),
    parseCase("64KiB", SIZES["64KiB"], "text-mixed"),
    parseCase("1KiB", SIZES["1KiB"], "text", true),
  ],
};
