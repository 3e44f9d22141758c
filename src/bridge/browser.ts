// edgews/bridge in a browser (package.json "exports" condition "browser", built into
// dist/browser/bridge.js): the same bridge over Web Serial, so that a page becomes the bridge for
// a device plugged into the computer it runs on. Stores: IndexedDB (a name) or any MessageStore.
export { Bridge, startBridge, DEFAULT_DEVICE_LIMITS, type BridgeOptions, type BridgePortOptions, type BridgeStatus, type Logger, type LogLevel } from "./bridge.js";
export type { DeviceLimits, DeviceLinkOptions, DeviceState, DeviceStatus } from "./device-session.js";
export { BridgeError, type BridgeErrorCode } from "./errors.js";
export { DEFAULT_SERIAL_SETTINGS, type Parity, type PortOpener, type SerialPortLike, type SerialSettings } from "./port.js";
export { webSerialOpener, type WebSerialPort } from "./web-serial.js";
export { bridgeStateTopic, commandFilter, deviceTopics, type DeviceTopics, type ResultMessage } from "./mapping.js";
