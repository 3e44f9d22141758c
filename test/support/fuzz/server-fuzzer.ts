// The server fuzzer: our WebSocketServer on 127.0.0.1 with small limits, fed generated upgrade
// requests and, after valid upgrades, generated frame streams, each over its own raw socket. Every
// input must get the answer the RFCs and the reference receiver call for, within a bound; after
// every batch the server must have let go of every connection and still serve a ws client.
import fc from "fast-check";
import { WebSocket as WsClient } from "ws";
import { AuthenticationError, WebSocket, type WebSocketServer } from "../../../src/index.js";
import { loadCoreSync } from "../../../src/core/node.js";
import { frame } from "../frames.js";
import { startServer } from "../net.js";
import { acceptKeyOf } from "../raw-peer.js";
import { frameStreamArb, streamBytes, type FrameStream } from "./frame-gen.js";
import { judgeStream, type Verdict } from "./frame-model.js";
import { ALLOWED_ORIGIN, FUZZ_LIMITS, FUZZ_PATH, MARGIN_MS } from "./limits.js";
import { checkCloseCode, compareObservations, describeVerdict, echoesOf, readPeerOutput, type Observation } from "./observe.js";
import { mustRefuse, plainUpgradeRequest, REFUSED_TOKEN, serializeRequest, upgradeKeyArb, upgradeRequestArb, type UpgradeRequestInput } from "./request-gen.js";
import type { FuzzTarget, Outcome } from "./runner.js";
import { boundedDrip, pause, WireSocket } from "./wire.js";

export type ServerInput =
  | { kind: "upgrade"; request: UpgradeRequestInput }
  /** `pipelined`: the frames go out with the request, before the 101 arrives. */
  | { kind: "frames"; key: string; pipelined: boolean; stream: FrameStream };

/** Connections the fuzzed server takes: small, so a leaked count shows up as a 503 to the health check. */
const MAX_CONNECTIONS = 48;
const CORE_SLOTS = 64;
/** How long a stream with nothing wrong is watched for a close it must not get, before the FIN. */
const QUIET_MS = 50;
/** How long a complete request's drip is meant to take: well within the handshake timeout. */
const COMPLETE_REQUEST_MS = FUZZ_LIMITS.handshakeTimeout / 4;
const PROBE_MASK = Buffer.from([0x11, 0x22, 0x33, 0x44]);

export async function serverFuzzer(): Promise<FuzzTarget<ServerInput>> {
  const core = loadCoreSync({ maxConnections: CORE_SLOTS });
  const { wss, port } = await startServer({
    ...FUZZ_LIMITS,
    perMessageDeflate: true,
    path: FUZZ_PATH,
    origins: [ALLOWED_ORIGIN],
    core,
    maxConnections: MAX_CONNECTIONS,
    maxConnectionsPerIp: MAX_CONNECTIONS,
    shutdownTimeout: 500,
    authenticate: async (req) => {
      await pause(0);
      if (req.headers.authorization === REFUSED_TOKEN) throw new AuthenticationError(401, "this token is refused");
    },
  });
  const serverErrors: string[] = [];
  wss.on("error", (error) => serverErrors.push(error.message));
  wss.on("connection", echo);
  const arbitrary: fc.Arbitrary<ServerInput> = fc.oneof(
    { weight: 2, arbitrary: upgradeRequestArb().map((request) => ({ kind: "upgrade" as const, request })) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("frames" as const), key: upgradeKeyArb, pipelined: fc.boolean(), stream: frameStreamArb("client") }) },
  );
  return {
    name: "server",
    arbitrary,
    run: (input, id) => (input.kind === "upgrade" ? runUpgrade(port, input.request, id) : runFrames(port, input, id)),
    checkHealth: () => checkHealth(wss, port, () => core.freeSlots, serverErrors),
    describe: describeInput,
    close: () => wss.close(),
  };
}

function echo(ws: WebSocket): void {
  ws.on("message", (data, isBinary) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(data, { binary: isBinary });
  });
}

/** The verdict the reference receiver gives a frame stream sent to this server. */
export function serverVerdict(stream: FrameStream): Verdict {
  const { maxPayload, maxMessage, maxFragments, maxControlFramesPerSecond } = FUZZ_LIMITS;
  return judgeStream(streamBytes(stream), { role: "server", deflate: stream.deflate, maxPayload, maxMessage, maxFragments, maxControlFrames: maxControlFramesPerSecond });
}

// ---- upgrade requests

async function runUpgrade(port: number, request: UpgradeRequestInput, id: string): Promise<Outcome> {
  const bytes = serializeRequest(request);
  const conn = await WireSocket.connect(port);
  try {
    const started = performance.now();
    let sentAfter = Infinity;
    const sent = sendRequest(conn, bytes, request).then(() => (sentAfter = performance.now() - started));
    if (request.completion === "abandoned") return await sent.then(() => undefined);
    const bound = request.completion === "complete" ? MARGIN_MS : FUZZ_LIMITS.handshakeTimeout + MARGIN_MS;
    await conn.until(() => conn.head !== undefined || conn.ended || conn.headTooLong, bound);
    await sent;
    const status = conn.status;
    if (conn.head === undefined && !conn.ended) return `neither answered nor closed within ${bound} ms`;
    if (status === 0 && request.completion === "complete" && sentAfter > COMPLETE_REQUEST_MS) return tooSlowToTell(sentAfter);
    const problem = request.expected && request.completion === "complete" ? checkStatus(status, request.expected) : checkLooseStatus(status, bytes, request);
    if (problem || status !== 101) return problem;
    // Bytes a mutation put after the head are the start of the frame stream: no probe then.
    return bytes.indexOf("\r\n\r\n") === bytes.length - 4 ? await probeOpenConnection(conn, id) : undefined;
  } finally {
    conn.destroy();
  }
}

/** Sends the request as its completion says; resolves when the last byte is out (endless: when the server gave up). */
function sendRequest(conn: WireSocket, bytes: Buffer, request: UpgradeRequestInput): Promise<void> {
  const headEnd = bytes.indexOf("\r\n\r\n");
  switch (request.completion) {
    case "complete":
    case "abandoned": {
      const sent = conn.send(bytes, boundedDrip(request.chunking, bytes.length, COMPLETE_REQUEST_MS));
      return request.completion === "abandoned" ? sent.then(() => conn.destroy()) : sent;
    }
    case "truncated":
      return conn.send(bytes.subarray(0, request.truncateAt % (headEnd < 0 ? bytes.length : headEnd + 2)), request.chunking);
    case "endless":
      return conn.send(bytes.subarray(0, headEnd < 0 ? bytes.length : headEnd + 2)).then(() => dripHeaders(conn));
  }
}

async function dripHeaders(conn: WireSocket): Promise<void> {
  for (let i = 0; conn.writable && !conn.ended && conn.head === undefined; i++) {
    conn.socket.write(`X-Drip-${i}: ${"d".repeat(i % 64)}\r\n`);
    await pause(5);
  }
}

/** A loaded machine made our own drip outlast the handshake timeout: not the server's fault. */
function tooSlowToTell(sentAfter: number): Outcome {
  return { inconclusive: `sending the request took ${Math.round(sentAfter)} ms, more than the ${COMPLETE_REQUEST_MS} ms planned` };
}

function checkStatus(status: number, expected: number[]): string | undefined {
  if (status === 0) return `closed without an answer, expected ${expected.join(" or ")}`;
  return expected.includes(status) ? undefined : `answered ${status}, expected ${expected.join(" or ")}`;
}

/** Mutated or unfinished requests: 101 only for what the oracle finds valid, otherwise a 4xx or nothing. */
function checkLooseStatus(status: number, bytes: Buffer, request: UpgradeRequestInput): string | undefined {
  if (status === 101 && request.completion !== "complete") return "answered 101 to a request that never ended";
  if (status === 101 && mustRefuse(bytes)) return "answered 101 to a request RFC 6455 §4.2.1 says to refuse";
  if (status !== 0 && status !== 101 && (status < 400 || status > 499)) return `answered ${status}, expected a 4xx`;
  return undefined;
}

/** A ping and a closing handshake on a freshly upgraded connection. */
async function probeOpenConnection(conn: WireSocket, id: string): Promise<string | undefined> {
  const probe = Buffer.from(`probe ${id}`);
  conn.socket.write(frame({ opcode: 9, payload: probe, mask: PROBE_MASK }));
  conn.socket.write(frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]), mask: PROBE_MASK }));
  if (!(await conn.until(() => conn.ended, MARGIN_MS))) return `after the 101, no end of the closing handshake within ${MARGIN_MS} ms`;
  const out = readPeerOutput(conn.frames, false);
  return out.problems[0] ?? compareObservations([{ kind: "pong", data: probe }], out.observations, 1) ?? (out.closeCode === 1000 ? undefined : `after the 101, answered close 1000 with ${out.closeCode}`);
}

// ---- frame streams

async function runFrames(port: number, input: Extract<ServerInput, { kind: "frames" }>, id: string): Promise<Outcome> {
  const { stream } = input;
  const bytes = streamBytes(stream);
  const verdict = serverVerdict(stream);
  const request = plainUpgradeRequest(input.key, stream.deflate);
  const conn = await WireSocket.connect(port);
  try {
    const opened = await openConnection(conn, input, request, bytes);
    if (opened !== "open") return opened;
    if (stream.ending === "abort") return undefined;
    const probe = await finishStream(conn, verdict, stream, id);
    return judgeOutput(conn, verdict, probe);
  } finally {
    conn.destroy();
  }
}

/** The upgrade, then the stream's bytes. Returns "open", or what went wrong with the upgrade. */
async function openConnection(conn: WireSocket, input: Extract<ServerInput, { kind: "frames" }>, request: Buffer, bytes: Buffer): Promise<"open" | Outcome> {
  const started = performance.now();
  if (input.pipelined) {
    await conn.send(Buffer.concat([request, bytes]), boundedDrip(input.stream.chunking, request.length, COMPLETE_REQUEST_MS));
  } else {
    conn.socket.write(request);
  }
  const sentAfter = performance.now() - started;
  await conn.until(() => conn.head !== undefined || conn.ended, MARGIN_MS);
  if (conn.head === undefined && sentAfter > COMPLETE_REQUEST_MS) return tooSlowToTell(sentAfter);
  if (conn.status !== 101) return `a valid upgrade got ${conn.head === undefined ? "no answer" : JSON.stringify(conn.head.split("\r\n")[0])}`;
  const accept = /\r\nsec-websocket-accept: *(\S+)/i.exec(conn.head!)?.[1];
  if (accept !== acceptKeyOf(input.key)) return `a 101 with Sec-WebSocket-Accept ${accept}, expected ${acceptKeyOf(input.key)}`;
  const deflate = /\r\nsec-websocket-extensions: *permessage-deflate/i.test(conn.head!);
  if (deflate !== input.stream.deflate) return `permessage-deflate ${deflate ? "accepted though not offered" : "refused"}`;
  if (!input.pipelined) await conn.send(bytes, input.stream.chunking);
  if (input.stream.ending === "abort") conn.destroy();
  return "open";
}

/**
 * Takes the connection to its end as the verdict says: waits for the server's close, or probes a
 * healthy one (ping, then a closing handshake), or sends a FIN. Returns the probe's payload.
 */
async function finishStream(conn: WireSocket, verdict: Verdict, stream: FrameStream, id: string): Promise<Buffer | undefined> {
  const ending = verdict.ending;
  if (ending.kind === "fail" || ending.kind === "close") {
    await conn.until(() => conn.ended, MARGIN_MS);
    return undefined;
  }
  const probeable = ending.kind === "open" && ending.atFrameBoundary && stream.ending === "probe" && verdict.controlFrames < FUZZ_LIMITS.maxControlFramesPerSecond;
  if (!probeable) {
    await conn.until(() => conn.ended, QUIET_MS);
    conn.socket.end();
    await conn.until(() => conn.ended, MARGIN_MS);
    return undefined;
  }
  const probe = Buffer.from(`probe ${id}`);
  conn.socket.write(frame({ opcode: 9, payload: probe, mask: PROBE_MASK }));
  const hasProbe = () => conn.frames.some((f) => f.opcode === 10 && f.payload.equals(probe));
  await conn.until(() => hasProbe() || conn.ended, MARGIN_MS);
  conn.socket.write(frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]), mask: PROBE_MASK }));
  await conn.until(() => conn.ended, MARGIN_MS);
  return probe;
}

function judgeOutput(conn: WireSocket, verdict: Verdict, probe: Buffer | undefined): string | undefined {
  const out = readPeerOutput(conn.frames, false);
  const problems: string[] = [...out.problems];
  if (!conn.ended) problems.push(`the server did not close the TCP connection within ${MARGIN_MS} ms`);
  const expected: Observation[] = echoesOf(verdict.deliveries);
  if (probe) expected.push({ kind: "pong", data: probe });
  const required = probe ? expected.length : verdict.required;
  const mismatch = compareObservations(expected, out.observations, required);
  if (mismatch) problems.push(mismatch);
  // After our probe, the server answers our close 1000.
  const closeProblem = probe ? (out.closeCode === 1000 ? undefined : `answered our close 1000 with ${out.closeCode}`) : checkCloseCode(verdict.ending, out.closeCode);
  if (closeProblem) problems.push(closeProblem);
  return problems.length > 0 ? `${problems.join("; ")} [reference: ${describeVerdict(verdict)}]` : undefined;
}

// ---- between batches

async function checkHealth(wss: WebSocketServer, port: number, freeSlots: () => number, serverErrors: string[]): Promise<string | undefined> {
  const start = performance.now();
  while (wss.clients.size > 0 && performance.now() - start < MARGIN_MS) await pause(10);
  if (wss.clients.size > 0) return `${wss.clients.size} connections still open ${MARGIN_MS} ms after every socket closed`;
  if (freeSlots() !== CORE_SLOTS) return `${CORE_SLOTS - freeSlots()} core slots still taken with no connection open`;
  if (serverErrors.length > 0) return `the server emitted 'error': ${serverErrors.splice(0).join("; ")}`;
  return legitimateEcho(`ws://127.0.0.1:${port}${FUZZ_PATH}`);
}

/** A message a legitimate client sends: compressed both ways (permessage-deflate's threshold is 1 KiB). */
const HEALTH_MESSAGE = "health ".repeat(300);

/** A ws client with permessage-deflate opens, gets an echo and a pong, all within the margin. */
function legitimateEcho(url: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const client = new WsClient(url, { perMessageDeflate: true });
    const timer = setTimeout(() => finish(`a legitimate client got no echo and pong within ${MARGIN_MS} ms`), MARGIN_MS);
    const finish = (problem: string | undefined) => {
      clearTimeout(timer);
      client.terminate();
      resolve(problem);
    };
    client.on("error", (error) => finish(`a legitimate client failed: ${error.message}`));
    client.on("open", () => client.send(HEALTH_MESSAGE));
    client.on("message", (data) => (String(data) === HEALTH_MESSAGE ? client.ping() : finish(`a legitimate client got ${String(data).slice(0, 40)}`)));
    client.on("pong", () => finish(undefined));
  });
}

// ---- reproducers

function describeInput(input: ServerInput): string {
  if (input.kind === "upgrade") {
    const r = input.request;
    return `upgrade ${JSON.stringify(serializeRequest(r).toString("latin1").slice(0, 600))} (${r.completion}, violations: ${r.violations.join(", ") || "none"}${r.mutation ? `, mutated: ${JSON.stringify(r.mutation)}` : ""}, chunks ${r.chunking.sizes.join("/")} every ${r.chunking.dripMs} ms)`;
  }
  const s = input.stream;
  const bytes = streamBytes(s);
  const hex = bytes.subarray(0, 400).toString("hex") + (bytes.length > 400 ? `… (${bytes.length} bytes)` : "");
  return `frames${s.deflate ? " with permessage-deflate" : ""}${input.pipelined ? ", pipelined with the request" : ""}, then ${s.ending}; chunks ${s.chunking.sizes.join("/")} every ${s.chunking.dripMs} ms: ${hex} [reference: ${describeVerdict(serverVerdict(s))}]`;
}
