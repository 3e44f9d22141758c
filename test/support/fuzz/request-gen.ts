// Generated upgrade requests for the server fuzzer: valid ones in many spellings, ones with known
// violations (each with the statuses RFC 6455 §4.2.1, RFC 7230 and our documented checks allow),
// byte-level mutations judged by an independent oracle, and requests that never finish.
import fc from "fast-check";
import { chunkingArb, mutate, rarely, type Chunking, type Mutation } from "./frame-gen.js";
import { ALLOWED_ORIGIN, FUZZ_LIMITS, FUZZ_PATH } from "./limits.js";

export interface UpgradeRequestInput {
  method: string;
  target: string;
  version: string;
  headers: Array<[string, string]>;
  /** Statuses the server may answer ([101]: a valid request); null for a byte-mutated request (see `mustRefuse`). */
  expected: number[] | null;
  /** The violations applied, for the report. */
  violations: string[];
  mutation: Mutation | null;
  chunking: Chunking;
  /**
   * complete; truncated (the head never ends); endless (header lines drip until the server gives
   * up); abandoned (the client leaves right after sending it).
   */
  completion: "complete" | "truncated" | "endless" | "abandoned";
  /** Where a truncated request stops, modulo its length. */
  truncateAt: number;
}

/** A violation the generator can apply, and the statuses that may answer it. */
interface Violation {
  name: string;
  /** What it breaks: two violations of one part could undo each other (a duplicate, then a removal). */
  part: string;
  statuses: number[];
  apply(r: UpgradeRequestInput): void;
}


const KEY_BYTES = 16;
/** A bearer token the fuzzed server's authenticate hook refuses with 401. */
export const REFUSED_TOKEN = "Bearer refused";

export function serializeRequest(r: UpgradeRequestInput): Buffer {
  const head = `${r.method} ${r.target} ${r.version}\r\n${r.headers.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`;
  return mutate(Buffer.from(head, "latin1"), r.mutation);
}

const set = (r: UpgradeRequestInput, name: string, value: string | null) => {
  const at = r.headers.findIndex(([n]) => n.toLowerCase() === name.toLowerCase());
  if (value === null) {
    if (at >= 0) r.headers.splice(at, 1);
  } else if (at >= 0) r.headers[at] = [r.headers[at]![0], value];
  else r.headers.push([name, value]);
};
const duplicate = (name: string) => (r: UpgradeRequestInput) => {
  const field = r.headers.find(([n]) => n.toLowerCase() === name.toLowerCase());
  if (field) r.headers.push([field[0], name === "Host" ? "other.example" : field[1]]);
};

function violations(): Violation[] {
  const v = (part: string, name: string, statuses: number[], apply: (r: UpgradeRequestInput) => void): Violation => ({ name, part, statuses, apply });
  const all: Violation[] = [
    // RFC 6455 §4.2.1: "An HTTP/1.1 or higher GET request".
    ...["POST", "PUT", "HEAD", "OPTIONS", "DELETE"].map((m) => v("method", `method ${m}`, [405], (r) => (r.method = m))),
    v("version", "HTTP/1.0", [400], (r) => (r.version = "HTTP/1.0")),
    v("Host", "no Host", [400], (r) => set(r, "Host", null)),
    v("Upgrade", "no Upgrade", [426], (r) => set(r, "Upgrade", null)),
    v("Upgrade", "Upgrade: h2c", [400], (r) => set(r, "Upgrade", "h2c")),
    v("Connection", "no Connection", [426], (r) => set(r, "Connection", null)),
    v("Connection", "Connection: keep-alive", [426], (r) => set(r, "Connection", "keep-alive")),
    v("key", "no key", [400], (r) => set(r, "Sec-WebSocket-Key", null)),
    v("key", "short key", [400], (r) => set(r, "Sec-WebSocket-Key", "c2hvcnQ=")),
    v("key", "key not base64", [400], (r) => set(r, "Sec-WebSocket-Key", "!!!!!!!!!!!!!!!!!!!!!!==")),
    v("key", "duplicate key", [400], duplicate("Sec-WebSocket-Key")),
    v("Sec-WebSocket-Version", "version 12", [400], (r) => set(r, "Sec-WebSocket-Version", "12")),
    v("Sec-WebSocket-Version", "version x", [400], (r) => set(r, "Sec-WebSocket-Version", "x")),
    v("Sec-WebSocket-Version", "no version", [400], (r) => set(r, "Sec-WebSocket-Version", null)),
    v("Sec-WebSocket-Version", "duplicate version", [400, 426], duplicate("Sec-WebSocket-Version")),
    v("Origin", "foreign Origin", [403], (r) => set(r, "Origin", "https://evil.example")),
    v("Origin", "duplicate Origin", [400, 403], (r) => r.headers.push(["Origin", ALLOWED_ORIGIN], ["Origin", ALLOWED_ORIGIN])),
    // Refused as ws refuses it.
    v("path", "other path", [400], (r) => (r.target = "/other")),
    v("extensions", "bad extension header", [400], (r) => set(r, "Sec-WebSocket-Extensions", "permessage-deflate; =")),
    v("subprotocols", "bad subprotocol", [400], (r) => set(r, "Sec-WebSocket-Protocol", "a b")),
    v("size", "too many fields", [431], (r) => r.headers.push(...Array.from({ length: FUZZ_LIMITS.maxHeaderCount }, (_, i): [string, string] => [`X-Pad-${i}`, "x"]))),
    v("size", "fields too large", [431], (r) => r.headers.push(["X-Big", "b".repeat(FUZZ_LIMITS.maxHeaderBytes)])),
    v("size", "fields past Node's limit", [431], (r) => r.headers.push(["X-Huge", "h".repeat(20_000)])),
    v("Authorization", "refused token", [401], (r) => set(r, "Authorization", REFUSED_TOKEN)),
  ];
  // RFC 7230 §5.4: "a server MUST respond with a 400 ... to any HTTP/1.1 request message that
  // ... contains more than one Host header field"; the other three are single-valued too.
  all.push(v("Host", "duplicate Host", [400], duplicate("Host")), v("Upgrade", "duplicate Upgrade", [400], duplicate("Upgrade")));
  // A CONNECT request is not a GET: it deserves a 405 like any other method.
  all.push(v("method", "method CONNECT", [405], (r) => (r.method = "CONNECT")));
  return all;
}

export const upgradeKeyArb = fc.uint8Array({ minLength: KEY_BYTES, maxLength: KEY_BYTES }).map((b) => Buffer.from(b).toString("base64"));

/** Any RFC 7230 token that is not one of the fields the handshake reads (those are set on purpose). */
const fieldNameArb = fc.oneof(
  fc.constantFrom("X-Forwarded-For", "User-Agent", "Cookie", "Accept", "Pragma"),
  fc.stringMatching(/^X-[!#$%&'*+.^_`|~0-9A-Za-z-]{1,24}$/),
);

/** Valid spellings: header name case, optional fields, extra fields, order. */
const validRequestArb: fc.Arbitrary<UpgradeRequestInput> = fc
  .record({
    key: upgradeKeyArb,
    lowerNames: fc.boolean(),
    query: fc.constantFrom("", "?a=1", "?x"),
    upgrade: fc.constantFrom("websocket", "WebSocket"),
    connection: fc.constantFrom("Upgrade", "upgrade", "keep-alive, Upgrade"),
    origin: fc.boolean(),
    protocols: fc.constantFrom(null, "chat", "chat, superchat"),
    extensions: fc.constantFrom(null, "permessage-deflate", "permessage-deflate; client_max_window_bits", "permessage-deflate; server_no_context_takeover; client_no_context_takeover", "x-unknown"),
    extra: fc.array(fc.tuple(fieldNameArb, fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,30}[\x21-\x7e])?$/)), { maxLength: 3 }),
    order: fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
  })
  .map((g) => {
    const fields: Array<[string, string | null]> = [
      ["Host", "127.0.0.1"],
      ["Upgrade", g.upgrade],
      ["Connection", g.connection],
      ["Sec-WebSocket-Key", g.key],
      ["Sec-WebSocket-Version", "13"],
      ["Origin", g.origin ? ALLOWED_ORIGIN : null],
      ["Sec-WebSocket-Protocol", g.protocols],
      ["Sec-WebSocket-Extensions", g.extensions],
      ...g.extra,
    ];
    const headers = fields
      .filter((f): f is [string, string] => f[1] !== null)
      .map(([n, v], i) => ({ field: [g.lowerNames ? n.toLowerCase() : n, v] as [string, string], rank: g.order[i % g.order.length]! }))
      .sort((a, b) => a.rank - b.rank)
      .map((x) => x.field);
    return { method: "GET", target: FUZZ_PATH + g.query, version: "HTTP/1.1", headers, expected: [101], violations: [], mutation: null, chunking: { sizes: [1 << 20], dripMs: 0 }, completion: "complete" as const, truncateAt: 0 };
  });

export function upgradeRequestArb(): fc.Arbitrary<UpgradeRequestInput> {
  const table = violations();
  return fc
    .record({
      base: validRequestArb,
      broken: fc.uniqueArray(fc.constantFrom(...table), { maxLength: 2, selector: (v) => v.part }),
      mutation: rarely(byteMutationArb, 4),
      chunking: chunkingArb,
      completion: fc.oneof({ weight: 12, arbitrary: fc.constant("complete" as const) }, fc.constant("truncated" as const), fc.constant("endless" as const), fc.constant("abandoned" as const)),
      truncateAt: fc.nat(),
    })
    .map(({ base, broken, mutation, chunking, completion, truncateAt }) => {
      const request: UpgradeRequestInput = { ...base, headers: base.headers.map((h) => [...h] as [string, string]), chunking, completion, truncateAt, mutation };
      for (const violation of broken) violation.apply(request);
      request.violations = broken.map((b) => b.name);
      request.expected = mutation ? null : broken.length === 0 ? [101] : [...new Set(broken.flatMap((b) => b.statuses))];
      return request;
    });
}

/** A valid request for the frame fuzzing, offering permessage-deflate or not. */
export function plainUpgradeRequest(key: string, deflate: boolean): Buffer {
  const extensions = deflate ? "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_no_context_takeover\r\n" : "";
  return Buffer.from(`GET ${FUZZ_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extensions}\r\n`);
}

const byteMutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.constantFrom(...["\r\n", "\n", "\0", ":", " ", "\r\n\r\n", "\x7f", "é"].map((s) => Buffer.from(s))) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 4 }) }),
);

// ---- the oracle for byte-mutated requests

interface ParsedRequest {
  path: string;
  /** Bytes up to the end of the header section. */
  headBytes: number;
  lines: number;
  /** Lower-cased names, each with its values in order. */
  fields: Map<string, string[]>;
}

/**
 * A GET request's head, read the way RFC 7230 lets a recipient read it (bare LF line ends,
 * whitespace-delimited request line, optional whitespace around values), or undefined when it
 * is not one: no end, not GET, HTTP below 1.1, a line that is not a field.
 */
function parseRequestHead(request: Buffer): ParsedRequest | undefined {
  const text = request.toString("latin1");
  const end = text.search(/\r?\n\r?\n/);
  if (end < 0) return undefined;
  const [requestLine, ...lines] = text.slice(0, end).split(/\r?\n/);
  // RFC 7230 §3.5: recipients "MAY instead parse on whitespace-delimited word boundaries".
  const line = /^GET[ \t]+(\S+)[ \t]+HTTP\/(\d)\.(\d)[ \t]*$/.exec(requestLine ?? "");
  if (!line || Number(line[2]) * 10 + Number(line[3]) < 11) return undefined;
  const fields = new Map<string, string[]>();
  for (const l of lines) {
    const field = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(l);
    if (!field) return undefined;
    const name = field[1]!.toLowerCase();
    fields.set(name, [...(fields.get(name) ?? []), field[2]!]);
  }
  return { path: line[1]!.split("?")[0]!, headBytes: end, lines: lines.length, fields };
}

/**
 * True when no server may answer `request` with 101: RFC 6455 §4.2.1's requirements, RFC 7230
 * §5.4 on Host, and the fuzzed server's path, origin, token and header limits. Lenient where HTTP
 * is, so that it never calls a request bad that a server may accept.
 */
export function mustRefuse(request: Buffer): boolean {
  const head = parseRequestHead(request);
  if (!head) return true;
  const { fields } = head;
  const one = (name: string) => (fields.get(name)?.length === 1 ? fields.get(name)![0]! : undefined);
  const tokens = (name: string) => (fields.get(name) ?? []).join(",").toLowerCase().split(",").map((t) => t.trim());
  const key = one("sec-websocket-key");
  // Version 8 (the last draft, which ws and edgews accept) names its origin in Sec-WebSocket-Origin.
  const version = one("sec-websocket-version");
  const origin = fields.get(version === "8" ? "sec-websocket-origin" : "origin");
  return (
    head.path !== FUZZ_PATH ||
    head.lines > FUZZ_LIMITS.maxHeaderCount ||
    head.headBytes > FUZZ_LIMITS.maxHeaderBytes + 256 ||
    one("host") === undefined ||
    !tokens("upgrade").includes("websocket") ||
    !tokens("connection").includes("upgrade") ||
    key === undefined ||
    !/^[A-Za-z0-9+/]{22}==$/.test(key) ||
    (version !== "13" && version !== "8") ||
    (origin !== undefined && (origin.length !== 1 || origin[0]!.toLowerCase() !== ALLOWED_ORIGIN)) ||
    (fields.get("authorization") ?? []).includes(REFUSED_TOKEN)
  );
}
