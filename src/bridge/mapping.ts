// Between device messages and MQTT (docs/bridge.md has the table): topics in Zigbee2MQTT's
// conventions, JSON payloads with the names the device's hello announced, and the validation
// of commands. Pure functions: no client, no port.
import {
  ValueType, decodeEvent, decodeLog, decodeResult, decodeTelemetry, encodeCommand, PayloadError, type Hello, type Value,
} from "../link/index.js";
import { fromHex, toHex } from "./hex.js";

/** A device id that would collide with the bridge's own topics. */
export const RESERVED_DEVICE_ID = "bridge";

export const bridgeStateTopic = (base: string): string => `${base}/bridge/state`;
/** The filter the bridge subscribes to for every device's commands. */
export const commandFilter = (base: string): string => `${base}/+/set`;

export interface DeviceTopics {
  /** The device's state: every channel's latest reading, as JSON. */
  state: string;
  /** Retained "online" / "offline". */
  availability: string;
  /** Retained: firmware, channels, commands. */
  info: string;
  /** Commands in. */
  set: string;
  /** Command results (MQTT 3.1.1, or MQTT 5 requests without a response topic). */
  result: string;
  event: string;
  log: string;
}

export function deviceTopics(base: string, deviceId: string): DeviceTopics {
  const root = `${base}/${deviceId}`;
  return { state: root, availability: `${root}/availability`, info: `${root}/info`, set: `${root}/set`, result: `${root}/set/result`, event: `${root}/event`, log: `${root}/log` };
}

/** The device id in a topic matching commandFilter, or undefined. */
export function deviceOfCommandTopic(base: string, topic: string): string | undefined {
  const prefix = `${base}/`;
  if (!topic.startsWith(prefix) || !topic.endsWith("/set")) return undefined;
  const id = topic.slice(prefix.length, -"/set".length);
  return id.length > 0 && !id.includes("/") ? id : undefined;
}

export const VALUE_TYPE_NAMES: Record<ValueType, string> = {
  [ValueType.None]: "none", [ValueType.Bool]: "bool", [ValueType.U8]: "u8", [ValueType.I8]: "i8", [ValueType.U16]: "u16", [ValueType.I16]: "i16",
  [ValueType.U32]: "u32", [ValueType.I32]: "i32", [ValueType.F32]: "f32", [ValueType.F64]: "f64", [ValueType.String]: "string", [ValueType.Bytes]: "bytes",
};

/** A link value as JSON: bytes as a lowercase hex string; NaN and infinities become null (as JSON.stringify makes them). */
export function jsonValue(value: Value): null | boolean | number | string {
  return value instanceof Uint8Array ? toHex(value) : value;
}

/** `<base>/<device>/info`: what the device announced, for dashboards and for people writing commands. */
export function infoPayload(hello: Hello, port: string): string {
  return JSON.stringify({
    device: hello.deviceId,
    firmware: hello.firmware,
    port,
    channels: hello.channels.map((c) => ({ name: c.name, unit: c.unit, type: VALUE_TYPE_NAMES[c.type] })),
    commands: hello.commands.map((c) => ({ name: c.name, argument: VALUE_TYPE_NAMES[c.argument] })),
  });
}

/** Merges a telemetry body into `state` (channel name -> latest reading); throws PayloadError. */
export function mergeTelemetry(state: Record<string, unknown>, body: Uint8Array, hello: Hello): void {
  for (const reading of decodeTelemetry(body, hello)) state[hello.channels[reading.channel]!.name] = jsonValue(reading.value);
}

export function eventPayload(body: Uint8Array): string {
  const event = decodeEvent(body);
  return JSON.stringify({ name: event.name, value: jsonValue(event.value) });
}

const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;

export function logPayload(body: Uint8Array): string {
  const line = decodeLog(body);
  return JSON.stringify({ level: LOG_LEVELS[line.level], text: line.text });
}

// --- commands and results ------------------------------------------------------------------

/** Statuses a device answers with (docs/link-protocol.md §7.2, result). */
const DEVICE_STATUSES = ["ok", "unknown_command", "bad_argument", "failed", "busy"] as const;

/** Every status a result can carry: the device's, and those the bridge answers with itself. */
export type ResultStatusName = (typeof DEVICE_STATUSES)[number] | "bad_request" | "offline" | "timeout";

export interface ResultMessage {
  /** The command's name, when known. */
  command?: string;
  status: ResultStatusName;
  value?: null | boolean | number | string;
  /** Why, for the answers the bridge makes itself. */
  error?: string;
  /** Echoed from the request, so that MQTT 3.1.1 callers can match results to requests. */
  transaction?: unknown;
  /** A device's result for a command already answered "timeout" (or sent by an earlier bridge run). */
  late?: boolean;
}

export function resultPayload(result: ResultMessage): string {
  return JSON.stringify(result);
}

/** A device's result body, as a ResultMessage (without command name or transaction). */
export function deviceResult(body: Uint8Array): { id: number; result: ResultMessage } {
  const decoded = decodeResult(body);
  const status = DEVICE_STATUSES[decoded.status] ?? "failed";
  return { id: decoded.id, result: { status, value: jsonValue(decoded.value) } };
}

/** A command request from MQTT, checked against the device's hello. */
export interface CommandRequest {
  /** Index in the hello's commands. */
  index: number;
  name: string;
  argument: Value;
  transaction?: unknown;
}

export type ParsedCommand = { ok: true; request: CommandRequest } | { ok: false; answer: ResultMessage };

/**
 * Reads a `/set` payload: a JSON object with one command and its argument, as in Zigbee2MQTT
 * (`{"fan": 3}`, `{"reboot": null}`), plus an optional `"transaction"` echoed in the result.
 * Anything else is answered, never ignored: bad_request, unknown_command or bad_argument with
 * an error naming what the device accepts.
 */
export function parseCommand(payload: Uint8Array, hello: Hello): ParsedCommand {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload).toString("utf8"));
  } catch {
    json = undefined;
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return refuse("bad_request", `a command is a JSON object {"<command>": <argument>}, e.g. ${example(hello)}; ${commandList(hello)}`);
  }
  const { transaction, ...rest } = json as Record<string, unknown>;
  const names = Object.keys(rest);
  if (names.length !== 1) {
    return refuse("bad_request", `a command object holds exactly one command (besides "transaction"), got ${names.length}; ${commandList(hello)}`, transaction);
  }
  const name = names[0]!;
  const index = hello.commands.findIndex((c) => c.name === name);
  if (index < 0) return refuse("unknown_command", `${hello.deviceId} has no command "${name}"; ${commandList(hello)}`, transaction, name);
  const type = hello.commands[index]!.argument;
  const argument = fromJson(rest[name], type);
  try {
    encodeCommand({ id: 0, command: index, argument }, hello);
  } catch (error) {
    if (!(error instanceof PayloadError)) throw error;
    return refuse("bad_argument", `"${name}" takes ${argumentDescription(type)}, got ${JSON.stringify(rest[name]) ?? "nothing"}`, transaction, name);
  }
  return { ok: true, request: { index, name, argument, ...(transaction !== undefined ? { transaction } : {}) } };
}

function refuse(status: ResultStatusName, error: string, transaction?: unknown, command?: string): ParsedCommand {
  return { ok: false, answer: { ...(command !== undefined ? { command } : {}), status, error, ...(transaction !== undefined ? { transaction } : {}) } };
}

/** A JSON argument as a link value: bytes come as a hex string; the encoder checks the rest. */
function fromJson(json: unknown, type: ValueType): Value {
  if (type === ValueType.Bytes && typeof json === "string" && /^(?:[0-9a-fA-F]{2})*$/.test(json)) return fromHex(json);
  if (json === undefined) return null;
  return json as Value;
}

const INTEGER_RANGES: Partial<Record<ValueType, string>> = {
  [ValueType.U8]: "0 to 255", [ValueType.I8]: "-128 to 127", [ValueType.U16]: "0 to 65535", [ValueType.I16]: "-32768 to 32767",
  [ValueType.U32]: "0 to 4294967295", [ValueType.I32]: "-2147483648 to 2147483647",
};

function argumentDescription(type: ValueType): string {
  switch (type) {
    case ValueType.None: return "null";
    case ValueType.Bool: return "true or false";
    case ValueType.F32: case ValueType.F64: return "a number";
    case ValueType.String: return "a string of at most 255 UTF-8 bytes";
    case ValueType.Bytes: return "a hex string of at most 255 bytes";
    default: return `an integer from ${INTEGER_RANGES[type]}`;
  }
}

function commandList(hello: Hello): string {
  if (hello.commands.length === 0) return `${hello.deviceId} announced no commands`;
  return `${hello.deviceId} accepts: ${hello.commands.map((c) => `${c.name} (${argumentDescription(c.argument)})`).join(", ")}`;
}

function example(hello: Hello): string {
  const command = hello.commands[0];
  if (!command) return `{"reboot": null}`;
  const samples: Partial<Record<ValueType, string>> = { [ValueType.None]: "null", [ValueType.Bool]: "true", [ValueType.String]: '"text"', [ValueType.Bytes]: '"00ff"' };
  return `{${JSON.stringify(command.name)}: ${samples[command.argument] ?? "1"}}`;
}
