// Layer 4 of the serial link (docs/link-protocol.md §7): the bodies of the six message kinds,
// byte for byte. Compact binary for the device; the bridge turns them into JSON with the names
// the device's hello gave (telemetryRecord). Decoders throw PayloadError with the byte offset.
import { ByteReader, ByteWriter, ValueType, isValueType, type Value } from "./values.js";
import { PayloadError } from "./errors.js";

export const MessageKind = {
  Hello: 0x10,
  Telemetry: 0x11,
  Event: 0x12,
  Command: 0x13,
  Result: 0x14,
  Log: 0x15,
} as const;
export type MessageKind = (typeof MessageKind)[keyof typeof MessageKind];

export interface ChannelInfo {
  name: string;
  /** The unit as the device states it ("°C", "%", "" for none). */
  unit: string;
  /** The type of every reading of this channel (not None). */
  type: ValueType;
}

export interface CommandInfo {
  name: string;
  /** The type of its argument; None for a command without one. */
  argument: ValueType;
}

/** What a device says about itself, first thing after each `up`. */
export interface Hello {
  deviceId: string;
  firmware: string;
  /** Readings name their channel by its index here. */
  channels: ChannelInfo[];
  /** Commands name their command by its index here. */
  commands: CommandInfo[];
}

export interface Reading {
  /** Index in the hello's channels. */
  channel: number;
  value: Value;
}

export interface DeviceEvent {
  name: string;
  type: ValueType;
  value: Value;
}

export interface Command {
  /** Chosen by the sender of the command; the result carries it back. */
  id: number;
  /** Index in the hello's commands. */
  command: number;
  argument: Value;
}

export const ResultStatus = { Ok: 0, UnknownCommand: 1, BadArgument: 2, Failed: 3, Busy: 4 } as const;
export type ResultStatus = (typeof ResultStatus)[keyof typeof ResultStatus];

export interface CommandResult {
  id: number;
  status: ResultStatus;
  type: ValueType;
  value: Value;
}

export const LogLevel = { Error: 0, Warn: 1, Info: 2, Debug: 3 } as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

export interface LogLine {
  level: LogLevel;
  text: string;
}

/** At most 255 channels and 255 commands: their count is one byte. */
const MAX_ENTRIES = 255;
/** Names become MQTT topic levels and JSON keys: no topic separators or wildcards, no control characters. */
const BAD_NAME = /[/+#\u0000-\u001f]/;

// --- hello ---------------------------------------------------------------------------------

export function encodeHello(hello: Hello): Uint8Array {
  const w = new ByteWriter(MessageKind.Hello);
  checkNames(MessageKind.Hello, -1, "device id", [hello.deviceId]);
  w.str8(hello.deviceId, "the device id");
  w.str8(hello.firmware, "the firmware version");
  entries(hello.channels.length, "channels");
  checkNames(MessageKind.Hello, -1, "channel", hello.channels.map((c) => c.name));
  w.u8(hello.channels.length);
  for (const channel of hello.channels) {
    if (!isValueType(channel.type) || channel.type === ValueType.None) throw new PayloadError(MessageKind.Hello, -1, `channel "${channel.name}" needs a value type other than None, got ${channel.type}`);
    w.str8(channel.name, `channel "${channel.name}"`);
    w.str8(channel.unit, `the unit of channel "${channel.name}"`);
    w.u8(channel.type);
  }
  entries(hello.commands.length, "commands");
  checkNames(MessageKind.Hello, -1, "command", hello.commands.map((c) => c.name));
  w.u8(hello.commands.length);
  for (const command of hello.commands) {
    if (!isValueType(command.argument)) throw new PayloadError(MessageKind.Hello, -1, `command "${command.name}" has argument type ${command.argument}, not a value type`);
    w.str8(command.name, `command "${command.name}"`);
    w.u8(command.argument);
  }
  return w.finish();
}

export function decodeHello(body: Uint8Array): Hello {
  const r = new ByteReader(MessageKind.Hello, body);
  const deviceId = r.str8("the device id");
  const firmware = r.str8("the firmware version");
  const channels: ChannelInfo[] = [];
  for (let n = r.u8("the channel count"), i = 0; i < n; i++) {
    channels.push({ name: r.str8(`the name of channel ${i}`), unit: r.str8(`the unit of channel ${i}`), type: r.type(`the type of channel ${i}`, false) });
  }
  const commands: CommandInfo[] = [];
  for (let n = r.u8("the command count"), i = 0; i < n; i++) {
    commands.push({ name: r.str8(`the name of command ${i}`), argument: r.type(`the argument type of command ${i}`, true) });
  }
  trailing(r);
  checkNames(MessageKind.Hello, 0, "device id", [deviceId]);
  checkNames(MessageKind.Hello, 0, "channel", channels.map((c) => c.name));
  checkNames(MessageKind.Hello, 0, "command", commands.map((c) => c.name));
  return { deviceId, firmware, channels, commands };
}

// --- telemetry: (channel index, value in the channel's type) repeated to the end -----------

export function encodeTelemetry(readings: Reading[], hello: Hello): Uint8Array {
  const w = new ByteWriter(MessageKind.Telemetry);
  const seen = new Set<number>();
  for (const reading of readings) {
    const channel = hello.channels[reading.channel];
    if (!channel) throw new PayloadError(MessageKind.Telemetry, -1, `no channel ${reading.channel}: the hello of "${hello.deviceId}" declares ${hello.channels.length}`);
    if (seen.has(reading.channel)) throw new PayloadError(MessageKind.Telemetry, -1, `channel "${channel.name}" appears twice: one reading per channel in a message`);
    seen.add(reading.channel);
    w.u8(reading.channel);
    w.value(channel.type, reading.value, `the reading of channel "${channel.name}"`);
  }
  return w.finish();
}

export function decodeTelemetry(body: Uint8Array, hello: Hello): Reading[] {
  const r = new ByteReader(MessageKind.Telemetry, body);
  const readings: Reading[] = [];
  const seen = new Set<number>();
  while (!r.done) {
    const at = r.offset;
    const index = r.u8("a channel index");
    const channel = hello.channels[index];
    if (!channel) throw r.error(at, `channel ${index} is not declared (the hello of "${hello.deviceId}" declares ${hello.channels.length})`);
    if (seen.has(index)) throw r.error(at, `channel "${channel.name}" appears twice`);
    seen.add(index);
    readings.push({ channel: index, value: r.value(channel.type, `the reading of channel "${channel.name}"`) });
  }
  return readings;
}

/** Readings keyed by channel name: what the bridge publishes as JSON. */
export function telemetryRecord(readings: Reading[], hello: Hello): Record<string, Value> {
  const record: Record<string, Value> = {};
  for (const reading of readings) record[hello.channels[reading.channel].name] = reading.value;
  return record;
}

// --- event: name, type, value ------------------------------------------------------------

export function encodeEvent(event: DeviceEvent): Uint8Array {
  const w = new ByteWriter(MessageKind.Event);
  checkNames(MessageKind.Event, -1, "event", [event.name]);
  w.str8(event.name, "the event name");
  w.u8(event.type);
  w.value(event.type, event.value, `the value of event "${event.name}"`);
  return w.finish();
}

export function decodeEvent(body: Uint8Array): DeviceEvent {
  const r = new ByteReader(MessageKind.Event, body);
  const name = r.str8("the event name");
  checkNames(MessageKind.Event, 0, "event", [name]);
  const type = r.type("the value type", true);
  const value = r.value(type, `the value of event "${name}"`);
  trailing(r);
  return { name, type, value };
}

// --- command: id (u16), command index, argument in the command's type ---------------------

export function encodeCommand(command: Command, hello: Hello): Uint8Array {
  const w = new ByteWriter(MessageKind.Command);
  const info = hello.commands[command.command];
  if (!info) throw new PayloadError(MessageKind.Command, -1, `no command ${command.command}: the hello of "${hello.deviceId}" declares ${hello.commands.length}`);
  w.value(ValueType.U16, command.id, "the command id");
  w.u8(command.command);
  w.value(info.argument, command.argument, `the argument of command "${info.name}"`);
  return w.finish();
}

export function decodeCommand(body: Uint8Array, hello: Hello): Command {
  const r = new ByteReader(MessageKind.Command, body);
  const id = r.u16("the command id");
  const at = r.offset;
  const index = r.u8("the command index");
  const info = hello.commands[index];
  if (!info) throw r.error(at, `command ${index} is not declared (the hello declares ${hello.commands.length})`);
  const argument = r.value(info.argument, `the argument of command "${info.name}"`);
  trailing(r);
  return { id, command: index, argument };
}

// --- result: id (u16), status, type, value ------------------------------------------------

export function encodeResult(result: CommandResult): Uint8Array {
  const w = new ByteWriter(MessageKind.Result);
  w.value(ValueType.U16, result.id, "the command id");
  if (!(result.status >= 0 && result.status <= ResultStatus.Busy)) throw new PayloadError(MessageKind.Result, -1, `status ${result.status} is not defined (0..${ResultStatus.Busy})`);
  w.value(ValueType.U8, result.status, "the status");
  w.u8(result.type);
  w.value(result.type, result.value, "the result value");
  return w.finish();
}

export function decodeResult(body: Uint8Array): CommandResult {
  const r = new ByteReader(MessageKind.Result, body);
  const id = r.u16("the command id");
  const at = r.offset;
  const status = r.u8("the status");
  if (status > ResultStatus.Busy) throw r.error(at, `status ${status} is not defined (0..4)`);
  const type = r.type("the value type", true);
  const value = r.value(type, "the result value");
  trailing(r);
  return { id, status: status as ResultStatus, type, value };
}

// --- log: level, then UTF-8 text to the end -----------------------------------------------

export function encodeLog(line: LogLine): Uint8Array {
  const w = new ByteWriter(MessageKind.Log);
  if (!(line.level >= 0 && line.level <= LogLevel.Debug)) throw new PayloadError(MessageKind.Log, -1, `log level ${line.level} is not defined (0..${LogLevel.Debug})`);
  w.value(ValueType.U8, line.level, "the log level");
  w.raw(new TextEncoder().encode(line.text));
  return w.finish();
}

export function decodeLog(body: Uint8Array): LogLine {
  const r = new ByteReader(MessageKind.Log, body);
  const level = r.u8("the log level");
  if (level > LogLevel.Debug) throw r.error(0, `log level ${level} is not defined (0..3)`);
  return { level: level as LogLevel, text: r.utf8(r.rest(), "the log text", 1) };
}

// --- shared checks ------------------------------------------------------------------------

function entries(count: number, what: string): void {
  if (count > MAX_ENTRIES) throw new PayloadError(MessageKind.Hello, -1, `a hello declares at most ${MAX_ENTRIES} ${what}, got ${count}`);
}

function checkNames(kind: number, offset: number, what: string, names: string[]): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (name.length === 0 || BAD_NAME.test(name)) {
      throw new PayloadError(kind, offset, `${what} name ${JSON.stringify(name)} must be non-empty, without "/", "+", "#" or control characters (it becomes an MQTT topic level or a JSON key)`);
    }
    if (seen.has(name)) throw new PayloadError(kind, offset, `${what} name "${name}" is declared twice`);
    seen.add(name);
  }
}

function trailing(r: ByteReader): void {
  if (!r.done) throw r.error(r.offset, "bytes left after the last field");
}
