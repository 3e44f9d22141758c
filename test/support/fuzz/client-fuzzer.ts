// The client fuzzer: our WebSocket client with small limits against an evil server that answers
// its upgrade with generated answers and, after a valid 101, generated frame streams. Every input
// must end the client the way RFC 6455 and the reference receiver say (an error with the right
// code and a close, or the right messages, pongs and close code), within a bound; after every
// batch the client's core must hold no slot and a client must still work against a ws server.
import fc from "fast-check";
import { WebSocketServer as WsServer } from "ws";
import { WebSocket, type ClientOptions } from "../../../src/index.js";
import { loadCoreSync } from "../../../src/core/node.js";
import { frame } from "../frames.js";
import { EvilServer } from "./evil-server.js";
import { frameStreamArb, streamBytes, type FrameStream } from "./frame-gen.js";
import { judgeStream, type Delivery, type Verdict } from "./frame-model.js";
import { FUZZ_LIMITS, FUZZ_PATH, MARGIN_MS } from "./limits.js";
import { checkCloseCode, compareObservations, describeVerdict, readPeerOutput, type Observation } from "./observe.js";
import { answerBytes, answerTail, expectedRefusal, handshakeAnswerArb, switchingProtocols, type HandshakeAnswer } from "./response-gen.js";
import type { FuzzTarget, Outcome } from "./runner.js";
import { boundedDrip, pause, type WireSocket } from "./wire.js";

export interface ClientInput {
  answer: HandshakeAnswer;
  /** After a valid 101: the frames the server sends. */
  stream: FrameStream;
  /** After a healthy stream and a probe: the client closes and the server never answers. */
  clientCloses: boolean;
}

const CORE_SLOTS = 64;
/** The evil server must answer within this, for the client's handshake timeout to be a fair judge. */
const ANSWER_IN_TIME_MS = FUZZ_LIMITS.handshakeTimeout / 2;
/** The handshake timeout of a client that gives up: far beyond the margin it has to let go. */
const ABANDONED_HANDSHAKE_TIMEOUT = 10_000;
const QUIET_MS = 50;
const PROBE = Buffer.from("probe");

/** What the client under test did. */
class ClientRecord {
  opened = false;
  readonly errors: Array<Error & { code?: string; statusCode?: number }> = [];
  readonly messages: Observation[] = [];
  readonly closes: number[] = [];
  readonly closed: Promise<void>;

  constructor(ws: WebSocket) {
    ws.on("open", () => (this.opened = true));
    ws.on("error", (error) => this.errors.push(error));
    ws.on("message", (data, isBinary) => this.messages.push({ kind: "message", binary: isBinary, data }));
    this.closed = new Promise((resolve) => ws.on("close", (code) => {
      this.closes.push(code);
      resolve();
    }));
  }
}

export async function clientFuzzer(): Promise<FuzzTarget<ClientInput>> {
  const core = loadCoreSync({ maxConnections: CORE_SLOTS });
  const evil = await EvilServer.start();
  const { maxPayload, maxMessage, maxFragments, maxControlFramesPerSecond, handshakeTimeout, closeTimeout } = FUZZ_LIMITS;
  const options: ClientOptions = { core, handshakeTimeout, closeTimeout, maxPayload, maxMessage, maxFragments, maxControlFramesPerSecond, perMessageDeflate: true };
  const arbitrary = fc.record({ answer: handshakeAnswerArb(), stream: frameStreamArb("server"), clientCloses: fc.boolean() });
  return {
    name: "client",
    arbitrary,
    run: (input, id) => runInput(evil, options, input, id),
    checkHealth: () => checkHealth(evil, () => core.freeSlots, options),
    describe: describeInput,
    close: () => evil.close(),
  };
}

export function clientVerdict(stream: FrameStream): Verdict {
  const { maxPayload, maxMessage, maxFragments, maxControlFramesPerSecond } = FUZZ_LIMITS;
  return judgeStream(streamBytes(stream), { role: "client", deflate: stream.deflate, maxPayload, maxMessage, maxFragments, maxControlFrames: maxControlFramesPerSecond });
}

async function runInput(evil: EvilServer, options: ClientOptions, input: ClientInput, id: string): Promise<Outcome> {
  const started = performance.now();
  let answeredAfter = Infinity;
  const problem = await runSession(evil, options, input, id, () => (answeredAfter = performance.now() - started));
  // A loaded machine can make the evil server answer too late for the client's handshake timeout.
  if (problem && answeredAfter > ANSWER_IN_TIME_MS && answeredAfter !== Infinity) return { inconclusive: `${problem} (the evil server answered after ${Math.round(answeredAfter)} ms)` };
  return problem;
}

/** Runs one input; calls `answering` when the evil server starts its answer. */
async function runSession(evil: EvilServer, options: ClientOptions, input: ClientInput, id: string, answering: () => void): Promise<string | undefined> {
  const path = `${FUZZ_PATH}/${id.replaceAll(":", "-")}`;
  const answer = input.answer;
  let ws: WebSocket | undefined;
  let wire: WireSocket | undefined;
  let abandonedAt = Infinity;
  const giveUp = () => {
    abandonedAt = performance.now();
    ws!.close();
  };
  const served = evil.expect(path, (conn, key) => {
    answering();
    wire = conn;
    if (answer.kind === "accept") return serveFrames(conn, key, input, ws!);
    if (answer.kind === "abandoned") return serveUntilAbandoned(conn, key, answer, giveUp);
    return serveRefusal(conn, key, answer);
  });
  // A client that gives up must let go of its socket at once, long before its handshake timeout.
  const clientOptions = answer.kind === "abandoned" ? { ...options, handshakeTimeout: ABANDONED_HANDSHAKE_TIMEOUT } : options;
  ws = new WebSocket(`ws://127.0.0.1:${evil.port}${path}`, undefined, clientOptions);
  const record = new ClientRecord(ws);
  // A refusal must end the client within its handshake timeout; a session within its close timeout.
  const bound = FUZZ_LIMITS.handshakeTimeout + MARGIN_MS + (answer.kind === "accept" ? FUZZ_LIMITS.closeTimeout + MARGIN_MS : 0);
  const finished = await Promise.race([record.closed.then(() => true), pause(bound).then(() => false)]);
  if (!finished) {
    const problem = `still ${["CONNECTING", "OPEN", "CLOSING", "CLOSED"][ws.readyState]} ${bound} ms after it connected (${record.opened ? "opened" : "never opened"}; error events: ${record.errors.map((e) => e.code ?? e.message).join(", ") || "none"})`;
    ws.terminate();
    evil.forget(path);
    return problem;
  }
  if (answer.kind === "abandoned" && !(await wire?.until(() => wire!.ended, MARGIN_MS))) {
    return `close() while CONNECTING: the connection was still open ${Math.round(performance.now() - abandonedAt)} ms later`;
  }
  await Promise.race([served, pause(MARGIN_MS)]);
  if (answer.kind !== "accept") return judgeRefusal(record, answer);
  return wire ? judgeSession(record, wire, input) : "the client never sent its upgrade request";
}

// ---- refusals and broken answers

async function serveRefusal(conn: WireSocket, key: string, answer: Exclude<HandshakeAnswer, { kind: "accept" }>): Promise<void> {
  await conn.send(answerBytes(key, answer));
  const tail = answerTail(answer);
  if (tail === "end") conn.socket.end();
  if (tail === "reset") conn.socket.resetAndDestroy();
  const drip = { "drip-chunks": "1\r\nx\r\n", "drip-bytes": "x", "drip-headers": "X-Drip: dddddddddddddddd\r\n" }[tail as string];
  // Until the client leaves (runInput drops one that outstays its bound).
  while (drip && conn.writable && !conn.ended) {
    conn.socket.write(drip);
    await pause(tail === "drip-bytes" ? 25 : 5);
  }
  await conn.until(() => conn.ended, FUZZ_LIMITS.handshakeTimeout + 2 * MARGIN_MS);
}

/** Sends the start of an answer, then has the client give up `afterMs` later; waits for it to leave. */
async function serveUntilAbandoned(conn: WireSocket, key: string, answer: Extract<HandshakeAnswer, { kind: "abandoned" }>, giveUp: () => void): Promise<void> {
  await conn.send(answerBytes(key, answer));
  await pause(answer.afterMs);
  giveUp();
  await conn.until(() => conn.ended, ABANDONED_HANDSHAKE_TIMEOUT);
}

function judgeRefusal(record: ClientRecord, answer: Exclude<HandshakeAnswer, { kind: "accept" }>): string | undefined {
  const expected = expectedRefusal(answer);
  // A head cut right at its end is a whole 101: the client opens, then sees the connection go.
  if (!expected) return record.opened && record.closes[0] === 1006 ? undefined : `a 101 then a dropped connection: ${record.opened ? "opened" : "never opened"}, closed ${record.closes[0]}`;
  const problems: string[] = [];
  if (record.opened) problems.push("opened on an answer it had to refuse");
  const error = record.errors[0];
  if (record.errors.length !== 1) problems.push(`${record.errors.length} error events, expected 1`);
  else if (!expected.codes.test(error!.code ?? "")) problems.push(`error ${error!.code ?? "without a code"} (${error!.message}), expected ${expected.codes.source}`);
  else if (expected.statusCode !== undefined && error!.code === "WS_ERR_UNEXPECTED_STATUS" && error!.statusCode !== expected.statusCode) {
    problems.push(`error with statusCode ${error!.statusCode}, expected ${expected.statusCode}`);
  }
  if (record.closes.length !== 1 || record.closes[0] !== 1006) problems.push(`close events ${JSON.stringify(record.closes)}, expected one 1006`);
  return problems.length > 0 ? problems.join("; ") : undefined;
}

// ---- a valid 101, then frames

async function serveFrames(conn: WireSocket, key: string, input: ClientInput, ws: WebSocket): Promise<void> {
  const { stream } = input;
  const verdict = clientVerdict(stream);
  const head = Buffer.from(switchingProtocols(key, input.answer as Extract<HandshakeAnswer, { kind: "accept" }>, stream.deflate));
  await conn.send(Buffer.concat([head, streamBytes(stream)]), boundedDrip(stream.chunking, head.length, FUZZ_LIMITS.handshakeTimeout / 4));
  const ending = verdict.ending;
  if (ending.kind === "fail" || ending.kind === "any") {
    // The client closes with its code and ends TCP (§7.1.7); with nothing wrong ("any"), we end.
    await conn.until(() => conn.ended, ending.kind === "fail" ? MARGIN_MS : QUIET_MS);
    conn.socket.end();
    return;
  }
  if (ending.kind === "close") {
    // §7.1.1: the client answers our close and waits for us to close TCP.
    await conn.until(() => conn.frames.some((f) => f.opcode === 8) || conn.ended, MARGIN_MS);
    conn.socket.end();
    return;
  }
  if (stream.ending === "abort") return conn.destroy();
  if (stream.ending === "fin" || !ending.atFrameBoundary || verdict.controlFrames >= FUZZ_LIMITS.maxControlFramesPerSecond) {
    await pause(QUIET_MS);
    conn.socket.end();
    // The client's pongs may still be on their way: read until it closes too.
    await conn.until(() => conn.ended, MARGIN_MS);
    return;
  }
  await probeThenClose(conn, input.clientCloses, ws);
}

/** A ping, then a closing handshake started by us, or by the client while we never answer. */
async function probeThenClose(conn: WireSocket, clientCloses: boolean, ws: WebSocket): Promise<void> {
  conn.socket.write(frame({ opcode: 9, payload: PROBE, mask: null }));
  await conn.until(() => conn.frames.some((f) => f.opcode === 10 && f.payload.equals(PROBE)) || conn.ended, MARGIN_MS);
  if (clientCloses) {
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    await conn.until(() => conn.ended, FUZZ_LIMITS.closeTimeout + MARGIN_MS);
    return;
  }
  conn.socket.write(frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]), mask: null }));
  await conn.until(() => conn.frames.some((f) => f.opcode === 8) || conn.ended, MARGIN_MS);
  conn.socket.end();
}

function judgeSession(record: ClientRecord, wire: WireSocket, input: ClientInput): string | undefined {
  const verdict = clientVerdict(input.stream);
  const problems: string[] = [];
  if (!record.opened) problems.push(`never opened on a valid 101 (errors: ${record.errors.map((e) => e.message).join(", ")})`);
  const probed = isProbed(verdict, input.stream);
  // A dropped connection may take unread data with it: then nothing is required.
  const aborted = verdict.ending.kind === "open" && input.stream.ending === "abort";
  const out = readPeerOutput(wire.frames, true);
  problems.push(...out.problems);
  const messages = expectations(verdict, "message", probed, aborted);
  const messageMismatch = compareObservations(messages.all, record.messages, messages.required);
  if (messageMismatch) problems.push(`messages: ${messageMismatch}`);
  const pongs = expectations(verdict, "ping", probed, aborted);
  const pongMismatch = compareObservations(pongs.all, out.observations, pongs.required);
  if (pongMismatch) problems.push(`pongs: ${pongMismatch}`);
  const close = closeExpectation(verdict, input, probed);
  if (record.closes.length !== 1 || !close.event.includes(record.closes[0]!)) problems.push(`close events ${JSON.stringify(record.closes)}, expected one ${close.event.join(" or ")}`);
  const frameProblem = close.frame === "per verdict" ? checkCloseCode(verdict.ending, out.closeCode) : out.closeCode === close.frame ? undefined : `sent close ${out.closeCode ?? "frame: none"}, expected ${close.frame ?? "none"}`;
  if (frameProblem) problems.push(frameProblem);
  return problems.length > 0 ? `${problems.join("; ")} [reference: ${describeVerdict(verdict)}]` : undefined;
}

/** The stream ended healthy between frames and the server probed it (see serveFrames). */
function isProbed(verdict: Verdict, stream: FrameStream): boolean {
  const e = verdict.ending;
  return e.kind === "open" && e.atFrameBoundary && stream.ending === "probe" && verdict.controlFrames < FUZZ_LIMITS.maxControlFramesPerSecond;
}

/**
 * The client's messages (to the application) or pongs (on the wire) the verdict calls for, with
 * how many of them are required; a probe's pong comes last and is required with all before it.
 */
function expectations(verdict: Verdict, kind: Delivery["kind"], probed: boolean, aborted: boolean): { all: Observation[]; required: number } {
  const pick = (deliveries: Delivery[]): Observation[] =>
    deliveries.filter((d) => d.kind === kind).map((d) => (d.kind === "message" ? d : { kind: "pong", data: d.data }));
  const all = pick(verdict.deliveries);
  if (probed && kind === "ping") return { all: [...all, { kind: "pong", data: PROBE }], required: all.length + 1 };
  if (aborted) return { all, required: 0 };
  return { all, required: probed ? all.length : pick(verdict.deliveries.slice(0, verdict.required)).length };
}

/** The close event codes the client may report, and the close frame it must send ("per verdict": see checkCloseCode). */
function closeExpectation(verdict: Verdict, input: ClientInput, probed: boolean): { event: number[]; frame: number | undefined | "per verdict" } {
  const e = verdict.ending;
  // As ws, the close event reports the code the client failed the connection with.
  if (e.kind === "fail") return { event: e.codes, frame: "per verdict" };
  if (e.kind === "close") return { event: [e.code], frame: "per verdict" };
  if (e.kind === "any") return { event: [1002, 1006, 1007, 1008, 1009], frame: "per verdict" };
  // §7.1.5: without a close frame from the server, the code is 1006.
  if (!probed) return { event: [1006, ...e.mayFail], frame: "per verdict" };
  return input.clientCloses ? { event: [1006], frame: 1000 } : { event: [1000], frame: 1000 };
}

// ---- between batches

async function checkHealth(evil: EvilServer, freeSlots: () => number, options: ClientOptions): Promise<string | undefined> {
  const start = performance.now();
  while ((evil.connections > 0 || freeSlots() !== CORE_SLOTS) && performance.now() - start < MARGIN_MS) await pause(10);
  if (evil.connections > 0) return `${evil.connections} connections to the evil server still open`;
  if (freeSlots() !== CORE_SLOTS) return `${CORE_SLOTS - freeSlots()} core slots still taken with no connection open`;
  return echoThroughWs(options);
}

const HEALTH_MESSAGE = "health ".repeat(300);

/** Our client, with the fuzzed options, still gets a compressed echo from a ws server. */
async function echoThroughWs(options: ClientOptions): Promise<string | undefined> {
  const server = new WsServer({ port: 0, host: "127.0.0.1", perMessageDeflate: true });
  server.on("connection", (peer) => peer.on("message", (data, isBinary) => peer.send(data, { binary: isBinary })));
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as { port: number };
  try {
    return await new Promise<string | undefined>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, undefined, options);
      const timer = setTimeout(() => finish(`a client got no echo from a ws server within ${MARGIN_MS} ms`), MARGIN_MS);
      const finish = (problem: string | undefined) => {
        clearTimeout(timer);
        ws.terminate();
        resolve(problem);
      };
      ws.on("error", (error) => finish(`a client failed against a ws server: ${error.message}`));
      ws.on("open", () => ws.send(HEALTH_MESSAGE));
      ws.on("message", (data) => finish(String(data) === HEALTH_MESSAGE ? undefined : "a client got a wrong echo from a ws server"));
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

// ---- reproducers

function describeInput(input: ClientInput): string {
  const a = input.answer;
  if (a.kind !== "accept") {
    const bytes = answerBytes("dGhlIHNhbXBsZSBub25jZQ==", a);
    return `answer ${JSON.stringify(a, (k, v) => (k === "bytes" ? Buffer.from(v as Uint8Array).toString("hex") : v))}: ${JSON.stringify(bytes.toString("latin1").slice(0, 300))}, then ${answerTail(a)}`;
  }
  const s = input.stream;
  const bytes = streamBytes(s);
  const hex = bytes.subarray(0, 400).toString("hex") + (bytes.length > 400 ? `… (${bytes.length} bytes)` : "");
  return `a 101${s.deflate ? " with permessage-deflate" : ""}, then frames, then ${s.ending}${input.clientCloses ? " (the client closes)" : ""}; chunks ${s.chunking.sizes.join("/")} every ${s.chunking.dripMs} ms: ${hex} [reference: ${describeVerdict(clientVerdict(s))}]`;
}
