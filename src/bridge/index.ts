// edgews/bridge: UART microcontrollers on MQTT (docs/bridge.md). Importing it loads no native
// code: `serialport` (an optional dependency) is imported when the first port is opened or listed.
export { Bridge, startBridge, DEFAULT_DEVICE_LIMITS, type BridgeOptions, type BridgePortOptions, type BridgeStatus, type Logger, type LogLevel } from "./bridge.js";
export type { DeviceLimits, DeviceLinkOptions, DeviceState, DeviceStatus } from "./device-session.js";
export type { IntakeLimits } from "./intake.js";
export type { CommandLimits } from "./commands.js";
export { BridgeError, type BridgeErrorCode } from "./errors.js";
export {
  listPorts, loadSerialport, openSystemPort, portOpener, DEFAULT_SERIAL_SETTINGS,
  type ListOptions, type Parity, type PortInfo, type PortListing, type PortOpener, type SerialPortClass, type SerialPortLike, type SerialSettings,
} from "./serial.js";
export { webSerialOpener, type WebSerialPort } from "./web-serial.js";
export { TakenStore, type Taken, type StoredHello } from "./taken-store.js";
export {
  bridgeStateTopic, commandFilter, deviceTopics, parseCommand, type CommandRequest, type DeviceTopics, type ResultMessage, type ResultStatusName,
} from "./mapping.js";
export { discoveryMessages, type DiscoveryMessage } from "./home-assistant.js";
export { portLine, statusLines } from "./status.js";
