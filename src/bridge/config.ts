// The bridge's configuration file (JSON, docs/bridge.md#configuration), checked field by field:
// an unknown key or a value out of range is an error naming the key's path and what it takes,
// so that a typo never silently falls back to a default.
import type { BridgeOptions } from "./bridge.js";
import { BridgeError } from "./errors.js";

type Check = (value: unknown, at: string) => unknown;

function fail(at: string, expected: string, value: unknown): never {
  throw new BridgeError("BRIDGE_BAD_CONFIG", `${at} must be ${expected}, got ${JSON.stringify(value)}`);
}

const string: Check = (value, at) => (typeof value === "string" && value.length > 0 ? value : fail(at, "a non-empty string", value));
const boolean: Check = (value, at) => (typeof value === "boolean" ? value : fail(at, "true or false", value));

const integer = (min: number, max: number): Check => (value, at) =>
  Number.isInteger(value) && (value as number) >= min && (value as number) <= max ? value : fail(at, `an integer from ${min} to ${max}`, value);

const number = (min: number, max: number): Check => (value, at) =>
  typeof value === "number" && value >= min && value <= max ? value : fail(at, `a number from ${min} to ${max}`, value);

const oneOf = (...values: unknown[]): Check => (value, at) => (values.includes(value) ? value : fail(at, `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`, value));

const either = (description: string, ...checks: Check[]): Check => (value, at) => {
  for (const check of checks) {
    try {
      return check(value, at);
    } catch {
      // try the next form
    }
  }
  return fail(at, description, value);
};

const list = (item: Check): Check => (value, at) => (Array.isArray(value) ? value.map((v, i) => item(v, `${at}[${i}]`)) : fail(at, "a list", value));

function object(fields: Record<string, Check>, required: string[] = []): Check {
  return (value, at) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) fail(at, "an object", value);
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) {
      const check = fields[key];
      if (!check) throw new BridgeError("BRIDGE_BAD_CONFIG", `${at}.${key} is not a setting (known: ${Object.keys(fields).join(", ")})`);
      out[key] = check(field, `${at}.${key}`);
    }
    for (const key of required) if (!(key in out)) throw new BridgeError("BRIDGE_BAD_CONFIG", `${at}.${key} is required`);
    return out;
  };
}

const ms = integer(1, 2 ** 31);
const uart = {
  baudRate: integer(50, 4_000_000),
  parity: oneOf("none", "even", "odd", "mark", "space"),
  dataBits: oneOf(5, 6, 7, 8),
  stopBits: oneOf(1, 1.5, 2),
  readBufferSize: integer(256, 1_048_576),
};
const backoff = object({ initialDelay: ms, maxDelay: ms, factor: number(1, 100), resetAfter: ms });

const CONFIG = object({
  mqtt: object(
    { url: string, protocolVersion: oneOf(4, 5), clientId: string, username: string, password: string, sessionExpiry: integer(0, 0xffffffff), reconnect: backoff },
    ["url"],
  ),
  base: string,
  store: string,
  serial: object(uart),
  ports: list(either("a path or an object with a path and UART settings", string, object({ path: string, ...uart }, ["path"]))),
  homeAssistant: either("true, false, or {\"prefix\": \"...\"}", boolean, object({ prefix: string })),
  telemetryQos: oneOf(0, 1),
  limits: object({
    rate: number(0.001, 1e6), burst: integer(1, 1e6), maxQueuedTelemetry: integer(1, 1e6), maxPendingReliable: integer(1, 1e6), retryDelay: ms,
    maxPendingCommands: integer(1, 65_535), commandTimeout: ms, maxOutboxBytes: integer(1, 2 ** 31),
  }),
  link: object({
    maxPacket: integer(32, 512), maxMessage: integer(1, 65_535), window: integer(1, 127), maxQueuedMessages: integer(1, 1e6), maxQueuedBytes: integer(1, 2 ** 31),
    retransmitTimeout: ms, maxRetransmitTimeout: ms, maxRetransmits: integer(0, 1000), syncInterval: ms, pingInterval: integer(0, 2 ** 31),
    deadPeerTimeout: integer(0, 2 ** 31), closeTimeout: ms,
  }),
  portReconnect: backoff,
  maxWriteBuffer: integer(1, 2 ** 31),
});

/** Bridge options from a config file's text (everything but what only code can give: openPort, log, a store object). */
export function parseConfig(text: string, source: string): Partial<BridgeOptions> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new BridgeError("BRIDGE_BAD_CONFIG", `${source} is not JSON: ${(error as Error).message}`);
  }
  const config = CONFIG(json, source) as Record<string, unknown> & { mqtt?: Record<string, unknown> };
  const { mqtt, ...rest } = config;
  if (!mqtt) return rest as Partial<BridgeOptions>;
  const { reconnect, ...connection } = mqtt;
  return { ...connection, ...(reconnect ? { mqttReconnect: reconnect } : {}), ...rest } as Partial<BridgeOptions>;
}
