// Typed errors of the serial bridge: each names what went wrong and what to do about it.

export type BridgeErrorCode =
  /** The optional dependency `serialport` is not installed. */
  | "BRIDGE_SERIALPORT_MISSING"
  /** `serialport` is installed but its native addon does not load on this machine. */
  | "BRIDGE_SERIALPORT_BROKEN"
  /** A configuration file or option that does not follow docs/bridge.md. */
  | "BRIDGE_BAD_CONFIG"
  /** The MQTT client did not write a reliable device message to the store in the publish call. */
  | "BRIDGE_NOT_STORED"
  /** A Web Serial port that is not there (unplugged, or not granted to the page). */
  | "BRIDGE_PORT_ABSENT";

export class BridgeError extends Error {
  override readonly name = "BridgeError";
  readonly code: BridgeErrorCode;

  constructor(code: BridgeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
