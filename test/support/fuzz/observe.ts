// What the peer under test did, compared with what the reference receiver says it must do.
import { constants, inflateRawSync } from "node:zlib";
import type { ParsedFrame } from "../raw-peer.js";
import type { Delivery, Ending, Verdict } from "./frame-model.js";

/** Something the peer did in answer to the stream: a message it got (or echoed), a pong it sent. */
export type Observation = { kind: "message"; binary: boolean; data: Buffer } | { kind: "pong"; data: Buffer };

export interface PeerOutput {
  /** Echoed messages and pongs, in order. */
  observations: Observation[];
  /** The peer's close frame: its code (1005 for an empty body), or undefined if it sent none. */
  closeCode: number | undefined;
  /** Frames the peer had no business sending (wrong mask bit, frames after its close, bad deflate). */
  problems: string[];
}

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/**
 * Reads the frames a peer sent: messages reassembled and inflated (permessage-deflate without
 * context takeover), pongs, its close frame. `masked`: the peer is a client.
 */
export function readPeerOutput(frames: readonly ParsedFrame[], masked: boolean): PeerOutput {
  const out: PeerOutput = { observations: [], closeCode: undefined, problems: [] };
  let message: { binary: boolean; compressed: boolean; pieces: Buffer[] } | undefined;
  for (const f of frames) {
    if (out.closeCode !== undefined) out.problems.push(`opcode ${f.opcode} sent after its close frame`);
    if (f.masked !== masked) out.problems.push(`a frame with mask bit ${f.masked}`);
    if (f.opcode === 8) out.closeCode = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
    else if (f.opcode === 10) out.observations.push({ kind: "pong", data: f.payload });
    else if (f.opcode === 1 || f.opcode === 2) message = { binary: f.opcode === 2, compressed: f.rsv1, pieces: [f.payload] };
    else if (f.opcode === 0 && message) message.pieces.push(f.payload);
    else if (f.opcode !== 9) out.problems.push(`unexpected opcode ${f.opcode}`);
    if (message && f.fin && f.opcode <= 2) {
      out.observations.push({ kind: "message", binary: message.binary, data: messageData(message, out.problems) });
      message = undefined;
    }
  }
  return out;
}

function messageData(message: { compressed: boolean; pieces: Buffer[] }, problems: string[]): Buffer {
  const data = Buffer.concat(message.pieces);
  if (!message.compressed) return data;
  try {
    return inflateRawSync(Buffer.concat([data, TAIL]), { finishFlush: constants.Z_SYNC_FLUSH });
  } catch (error) {
    problems.push(`a compressed message that does not inflate: ${(error as Error).message}`);
    return data;
  }
}

/** What a server echoing every message must send for `deliveries`: echoes and pongs, in order. */
export function echoesOf(deliveries: readonly Delivery[]): Observation[] {
  return deliveries.map((d) => (d.kind === "message" ? d : { kind: "pong", data: d.data }));
}

/**
 * Compares what the peer did with what it had to do: a prefix of `expected` at least `required`
 * long, in order, and nothing else. Returns the first difference.
 */
export function compareObservations(expected: readonly Observation[], actual: readonly Observation[], required: number): string | undefined {
  for (let i = 0; i < actual.length; i++) {
    const want = expected[i];
    const got = actual[i]!;
    if (!want) return `${describe(got)} beyond the ${expected.length} expected`;
    if (want.kind !== got.kind || (want.kind === "message" && got.kind === "message" && want.binary !== got.binary) || !want.data.equals(got.data)) {
      return `#${i}: expected ${describe(want)}, got ${describe(got)}`;
    }
  }
  if (actual.length < required) return `only ${actual.length} of ${required} required (next: ${describe(expected[actual.length]!)})`;
  return undefined;
}

function describe(o: Observation): string {
  const kind = o.kind === "pong" ? "pong" : o.binary ? "binary message" : "text message";
  return `${kind} of ${o.data.length} bytes (${o.data.subarray(0, 16).toString("hex")}${o.data.length > 16 ? "…" : ""})`;
}

/** Whether a close code fits how the stream had to end; undefined when it does. */
export function checkCloseCode(ending: Ending, code: number | undefined): string | undefined {
  switch (ending.kind) {
    case "fail":
      return code !== undefined && ending.codes.includes(code) ? undefined : `closed with ${code ?? "no close frame"}, expected ${ending.codes.join(" or ")}`;
    case "close":
      return code === ending.code ? undefined : `answered the close ${ending.code} with ${code ?? "no close frame"}`;
    case "open":
      return code === undefined || ending.mayFail.includes(code) ? undefined : `closed with ${code} on a stream with nothing wrong${ending.mayFail.length ? ` (or ${ending.mayFail.join("/")})` : ""}`;
    case "any":
      return code === undefined || [1002, 1007, 1008, 1009].includes(code) ? undefined : `closed with ${code} on an invalid stream`;
  }
}

export function describeVerdict(v: Verdict): string {
  const ending = v.ending.kind === "fail" ? `fail ${v.ending.codes.join("/")}` : v.ending.kind === "close" ? `close ${v.ending.code}` : v.ending.kind === "open" ? `open${v.ending.atFrameBoundary ? "" : " (inside a frame)"}` : "any";
  return `${v.required === v.deliveries.length ? v.deliveries.length : `${v.required} to ${v.deliveries.length}`} deliveries, then ${ending}`;
}
