// The serial ports under the bridge: a thin adapter over the optional `serialport` package.
// `serialport` is a native addon, so it is imported only when a port is opened or listed: an
// app that imports `edgews`, `edgews/mqtt` or even `edgews/bridge` never loads it before that,
// and installs without a native build. Nothing here knows the link protocol.
import { readdir, realpath } from "node:fs/promises";
import { join } from "node:path";
import { BridgeError } from "./errors.js";
import type { PortOpener, SerialPortLike, SerialSettings } from "./port.js";

export type { Parity, PortOpener, SerialPortLike, SerialSettings } from "./port.js";
export { DEFAULT_SERIAL_SETTINGS } from "./port.js";

/** What serialport's `SerialPort` and `SerialPortMock` take: the UART settings and the read buffer's size. */
export type SerialPortClassOptions = Omit<SerialSettings, "readBufferSize"> & { highWaterMark: number };

/** A constructor shaped like serialport's `SerialPort` and `SerialPortMock`: opens at once and calls back. */
export type SerialPortClass = new (options: SerialPortClassOptions, openCallback: (error: Error | null) => void) => SerialPortLike;

export interface PortInfo {
  path: string;
  manufacturer?: string;
  serialNumber?: string;
  vendorId?: string;
  productId?: string;
  /** A stable name for the same port (/dev/serial/by-id/...), when udev made one. */
  byId?: string;
}

interface SerialportModule {
  SerialPort: SerialPortClass & { list(): Promise<PortInfo[]> };
}

let loading: Promise<SerialportModule> | undefined;

/**
 * The `serialport` module, imported on first use. Rejects with BRIDGE_SERIALPORT_MISSING when it
 * is not installed and BRIDGE_SERIALPORT_BROKEN when its native addon does not load.
 */
export function loadSerialport(): Promise<SerialportModule> {
  loading ??= import("serialport").then(
    (module) => module as unknown as SerialportModule,
    (error: NodeJS.ErrnoException) => {
      loading = undefined;
      throw serialportError(error);
    },
  );
  return loading;
}

function serialportError(error: NodeJS.ErrnoException): BridgeError {
  if (error.code === "ERR_MODULE_NOT_FOUND" && /serialport/.test(error.message)) {
    return new BridgeError(
      "BRIDGE_SERIALPORT_MISSING",
      "the serial bridge needs the optional dependency `serialport`, which is not installed: run `npm install serialport` " +
        "(it downloads a prebuilt native addon, or builds one with a C++ toolchain)",
      { cause: error },
    );
  }
  return new BridgeError(
    "BRIDGE_SERIALPORT_BROKEN",
    `\`serialport\` is installed but does not load (${error.message}): run \`npm rebuild serialport\` on this machine, ` +
      "or install a C++ toolchain if no prebuilt addon exists for it",
    { cause: error },
  );
}

/** An opener over a SerialPort-shaped class (serialport's `SerialPort`, or `SerialPortMock` in tests). */
export function portOpener(PortClass: SerialPortClass): PortOpener {
  return ({ readBufferSize, ...uart }) =>
    new Promise((resolve, reject) => {
      let port: SerialPortLike | undefined;
      try {
        port = new PortClass({ ...uart, highWaterMark: readBufferSize }, (error) => (error ? reject(error) : resolve(port!)));
      } catch (error) {
        reject(error);
      }
    });
}

/** Opens a real port through `serialport` (imported on the first call). */
export const openSystemPort: PortOpener = async (settings) => portOpener((await loadSerialport()).SerialPort)(settings);

export interface PortListing {
  ports: PortInfo[];
  /** Why the list is the fallback scan of /dev rather than serialport's (udev's) list. */
  warning?: string;
}

export interface ListOptions {
  /** serialport's list (default `SerialPort.list`, which runs udevadm on Linux). */
  list?: () => Promise<PortInfo[]>;
  /** Where device nodes live (default /dev): tests point it at a scratch tree. */
  devDir?: string;
}

/**
 * The serial ports of this machine. serialport's list needs `udevadm` on Linux (it rejects with
 * spawn ENOENT without it, as in most containers): then, or if serialport is missing, the device
 * nodes are read from /dev/serial/by-id and /dev/tty{USB,ACM,AMA,S}* instead, with a warning
 * saying why. Never rejects.
 */
export async function listPorts(options: ListOptions = {}): Promise<PortListing> {
  const devDir = options.devDir ?? "/dev";
  try {
    const list = options.list ?? (await loadSerialport()).SerialPort.list;
    return { ports: await list() };
  } catch (error) {
    return { ports: await scanDeviceNodes(devDir), warning: listWarning(error as NodeJS.ErrnoException, devDir) };
  }
}

function listWarning(error: NodeJS.ErrnoException, devDir: string): string {
  const fallback = `listed the device nodes in ${devDir} instead, without vendor details`;
  if (error instanceof BridgeError) return `${error.message}; ${fallback}`;
  if (error.code === "ENOENT" && /udevadm/.test(error.message)) return `udevadm was not found (serialport lists ports through udev: apt-get install udev); ${fallback}`;
  return `serialport could not list the ports (${error.message}); ${fallback}`;
}

/** USB serial adapters, CDC ACM boards, the Pi's own UARTs, legacy 8250 UARTs. */
const SERIAL_NODE = /^tty(USB|ACM|AMA|S)\d+$/;

async function scanDeviceNodes(devDir: string): Promise<PortInfo[]> {
  // by-id links resolve to real paths: key the nodes the same way.
  devDir = await realpath(devDir).catch(() => devDir);
  const names = (await readdir(devDir).catch(() => [] as string[])).filter((name) => SERIAL_NODE.test(name));
  const ports = new Map<string, PortInfo>(names.map((name) => [join(devDir, name), { path: join(devDir, name) }]));
  const byIdDir = join(devDir, "serial", "by-id");
  for (const name of await readdir(byIdDir).catch(() => [] as string[])) {
    const alias = join(byIdDir, name);
    const target = await realpath(alias).catch(() => undefined);
    if (!target) continue;
    const port = ports.get(target) ?? { path: target };
    port.byId = alias;
    ports.set(target, port);
  }
  return [...ports.values()].sort((a, b) => a.path.localeCompare(b.path, "en", { numeric: true }));
}
