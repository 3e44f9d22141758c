// A serial port as the bridge sees it, whatever opens it: serialport in Node (serial.ts), Web
// Serial in a page (web-serial.ts). No platform code here.

export type Parity = "none" | "even" | "odd" | "mark" | "space";

/** How to open one port (the UART settings must match the device's). */
export interface SerialSettings {
  path: string;
  /** Default 115200. */
  baudRate: number;
  /** Default "none". */
  parity: Parity;
  /** Default 8. */
  dataBits: 5 | 6 | 7 | 8;
  /** Default 1. */
  stopBits: 1 | 1.5 | 2;
  /**
   * Bytes of the buffer serialport reads the port into (its `highWaterMark`), replaced once
   * nearly full: one per port, held while the port is open. serialport's own default, 64 KiB,
   * is 2 MiB for 32 ports; 4 KiB is a third of a second of a 115,200-baud line, and a read
   * takes what the OS has, so a fuller line only means more reads. Default 4096.
   */
  readBufferSize: number;
}

export const DEFAULT_SERIAL_SETTINGS: Omit<SerialSettings, "path"> = { baudRate: 115_200, parity: "none", dataBits: 8, stopBits: 1, readBufferSize: 4096 };

/** What the bridge uses of an open port; serialport's `SerialPort` (a Duplex stream) has it. */
export interface SerialPortLike {
  readonly isOpen: boolean;
  /** Bytes written and not yet handed to the OS. */
  readonly writableLength: number;
  write(data: Uint8Array): boolean;
  close(callback?: (error?: Error | null) => void): void;
  on(event: "data", listener: (chunk: Uint8Array) => void): unknown;
  /** Also on unplug: serialport closes the port with a DisconnectedError. */
  on(event: "close", listener: (error?: Error | null) => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  removeAllListeners(): unknown;
}

/** Opens a port; resolves once it is open. */
export type PortOpener = (settings: SerialSettings) => Promise<SerialPortLike>;
