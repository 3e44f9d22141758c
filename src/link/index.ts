// The serial link protocol (docs/link-protocol.md), sans-I/O: bytes in, events and bytes out.
// Runs unchanged in the bridge (Node), in a browser on Web Serial and in the firmware simulator.
export { LinkSession, DEFAULT_LINK_OPTIONS, type LinkEvents, type LinkOptions, type LinkState, type LinkStats } from "./session.js";
export type { ReceiveState, ReceiveStateStore } from "./receiver.js";
export { LinkError, PayloadError, type LinkErrorCode } from "./errors.js";
export { CloseReason, LINK_VERSION } from "./packet.js";
export { DEFAULT_MAX_PACKET, MAX_MAX_PACKET, MIN_MAX_PACKET } from "./framing.js";
export { ValueType, type Value } from "./values.js";
export {
  MessageKind, ResultStatus, LogLevel, encodeHello, decodeHello, encodeTelemetry, decodeTelemetry, telemetryRecord, encodeEvent, decodeEvent,
  encodeCommand, decodeCommand, encodeResult, decodeResult, encodeLog, decodeLog,
  type Hello, type ChannelInfo, type CommandInfo, type Reading, type DeviceEvent, type Command, type CommandResult, type LogLine,
} from "./messages.js";
export { linkEfficiency, type Efficiency, type EfficiencyOptions } from "./efficiency.js";
