// `edgews bridge`: runs the serial bridge (docs/bridge.md) from a config file and flags, with a
// live status line per port, or lists the serial ports. A thin shell: the bridge is
// src/bridge/, imported only once the arguments are understood, so `--help` loads nothing.
// Exit codes: 0 stopped by SIGINT/SIGTERM (or --list done), 1 the bridge failed, 2 bad usage.
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { BridgeOptions, BridgeStatus, LogLevel } from "../bridge/index.js";

export const summary = "put UART microcontrollers on MQTT (the serial bridge)";

export const usage = `usage: edgews bridge [options] [--port PATH]...
       edgews bridge --list [--json]

Bridges each serial port's device (docs/link-protocol.md) to an MQTT broker:
<base>/bridge/state, <base>/<device> (readings as JSON), <base>/<device>/availability,
commands on <base>/<device>/set. docs/bridge.md has the topics and payloads.

  -c, --config FILE       JSON config (docs/bridge.md#configuration); flags override it
  -p, --port PATH         a serial port to bridge (repeat for several)
      --baud N            baud rate of the ports (default 115200)
      --parity P          none, even, odd, mark or space (default none)
  -u, --url URL           the broker: mqtt://HOST:PORT, mqtts:// (TLS), ws:// or wss://
      --mqtt-version V    5 (default) or 4 (MQTT 3.1.1)
      --client-id ID      stable across restarts (default edgews-bridge-<hostname>)
      --username NAME     the password comes from the EDGEWS_MQTT_PASSWORD environment variable
      --base TOPIC        first topic level (default edgews)
      --store FILE        crash-safe store (default ./edgews-bridge.store)
      --home-assistant    publish Home Assistant discovery messages (prefix homeassistant)
      --ha-prefix PREFIX  ... under another discovery prefix
      --list              list the serial ports and exit
      --json              status (and --list) as JSON lines
      --interval MS       status every MS (default 1000 on a terminal or with --json, else 10000)
  -h, --help              this text`;

const OPTIONS = {
  config: { type: "string", short: "c" },
  port: { type: "string", short: "p", multiple: true },
  baud: { type: "string" },
  parity: { type: "string" },
  url: { type: "string", short: "u" },
  "mqtt-version": { type: "string" },
  "client-id": { type: "string" },
  username: { type: "string" },
  base: { type: "string" },
  store: { type: "string" },
  "home-assistant": { type: "boolean" },
  "ha-prefix": { type: "string" },
  list: { type: "boolean" },
  json: { type: "boolean" },
  interval: { type: "string" },
  help: { type: "boolean", short: "h" },
} satisfies ParseArgsConfig["options"];

type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>["values"];

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
}

class UsageError extends Error {}

/** Runs `edgews bridge` with `argv` (the arguments after "bridge"); resolves with the exit code. */
export async function run(argv: string[], io: Io = process): Promise<number> {
  let flags: Flags;
  try {
    flags = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    io.stderr.write(`edgews bridge: ${(error as Error).message}\n${usage}\n`);
    return 2;
  }
  if (flags.help) {
    io.stdout.write(`${usage}\n`);
    return 0;
  }
  if (flags.list) return listCommand(flags, io);
  let options: BridgeOptions;
  try {
    options = await bridgeOptions(flags);
  } catch (error) {
    io.stderr.write(`edgews bridge: ${(error as Error).message}\n`);
    return 2;
  }
  return runBridge(options, flags, io);
}

async function listCommand(flags: Flags, io: Io): Promise<number> {
  const { listPorts } = await import("../bridge/index.js");
  const { ports, warning } = await listPorts();
  if (warning) io.stderr.write(`edgews bridge: ${warning}\n`);
  if (flags.json) {
    io.stdout.write(`${JSON.stringify(ports)}\n`);
    return 0;
  }
  if (ports.length === 0) io.stdout.write("no serial ports found\n");
  for (const port of ports) {
    const ids = port.vendorId ? `${port.vendorId}:${port.productId ?? "?"}` : "";
    io.stdout.write(`${[port.path, port.byId ?? "", port.manufacturer ?? "", port.serialNumber ?? "", ids].filter(Boolean).join("  ")}\n`);
  }
  return 0;
}

/** The config file's options, then the flags over them. */
async function bridgeOptions(flags: Flags): Promise<BridgeOptions> {
  const { parseConfig } = await import("../bridge/config.js");
  const file = flags.config ? parseConfig(await readFile(flags.config, "utf8").catch((e: Error) => Promise.reject(new UsageError(`cannot read ${flags.config}: ${e.message}`))), flags.config) : {};
  const serial = { ...file.serial };
  if (flags.baud !== undefined) serial.baudRate = positiveInteger("--baud", flags.baud);
  if (flags.parity !== undefined) {
    if (!["none", "even", "odd", "mark", "space"].includes(flags.parity)) throw new UsageError(`--parity takes none, even, odd, mark or space, not ${flags.parity}`);
    serial.parity = flags.parity as NonNullable<BridgeOptions["serial"]>["parity"];
  }
  const url = flags.url ?? file.url;
  if (!url) throw new UsageError("which broker? give --url mqtt://HOST:1883 (or mqtts://, ws://, wss://), or mqtt.url in --config");
  const version = flags["mqtt-version"];
  if (version !== undefined && version !== "4" && version !== "5") throw new UsageError(`--mqtt-version takes 4 or 5, not ${version}`);
  const password = process.env.EDGEWS_MQTT_PASSWORD;
  const homeAssistant = flags["ha-prefix"] ? { prefix: flags["ha-prefix"] } : flags["home-assistant"] ? true : file.homeAssistant;
  return {
    ...file,
    url,
    serial,
    ports: flags.port ?? file.ports ?? [],
    store: flags.store ?? file.store ?? "edgews-bridge.store",
    ...(version ? { protocolVersion: Number(version) as 4 | 5 } : {}),
    ...(flags["client-id"] ? { clientId: flags["client-id"] } : {}),
    ...(flags.username ? { username: flags.username } : {}),
    ...(password ? { password } : {}),
    ...(flags.base ? { base: flags.base } : {}),
    ...(homeAssistant !== undefined ? { homeAssistant } : {}),
  };
}

function positiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new UsageError(`${flag} takes a positive integer, not ${text}`);
  return value;
}

async function runBridge(options: BridgeOptions, flags: Flags, io: Io): Promise<number> {
  const { startBridge, statusLines } = await import("../bridge/index.js");
  const tty = Boolean(io.stdout.isTTY) && !flags.json;
  const interval = flags.interval !== undefined ? positiveInteger("--interval", flags.interval) : tty || flags.json ? 1000 : 10_000;
  const screen = new StatusScreen(io, tty, Boolean(flags.json), statusLines);
  let bridge: Awaited<ReturnType<typeof startBridge>>;
  try {
    bridge = await startBridge({ ...options, log: (level, message) => screen.log(level, message) });
  } catch (error) {
    io.stderr.write(`edgews bridge: ${(error as Error).message}\n`);
    return 1;
  }
  const timer = setInterval(() => screen.status(bridge.status()), interval);
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return resolve(1); // a second signal: out now
      stopping = true;
      screen.log("info", `${signal}: stopping`);
      clearInterval(timer);
      bridge.stop().then(
        () => resolve(0),
        (error: Error) => {
          io.stderr.write(`edgews bridge: stopping failed: ${error.message}\n`);
          resolve(1);
        },
      );
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

/**
 * Log lines and the status: on a terminal the status block stays at the bottom and is redrawn
 * in place; otherwise (a pipe, a journal) status lines are printed every interval; with --json
 * both are JSON lines.
 */
class StatusScreen {
  #drawn = 0;
  #last: BridgeStatus | undefined;

  constructor(
    readonly io: Io,
    readonly tty: boolean,
    readonly json: boolean,
    readonly lines: (status: BridgeStatus) => string[],
  ) {}

  log(level: LogLevel, message: string): void {
    if (this.json) return void this.io.stdout.write(`${JSON.stringify({ level, message })}\n`);
    this.#erase();
    (level === "info" ? this.io.stdout : this.io.stderr).write(`${level === "info" ? "" : `${level}: `}${message}\n`);
    if (this.#last) this.#draw(this.#last);
  }

  status(status: BridgeStatus): void {
    if (this.json) return void this.io.stdout.write(`${JSON.stringify({ status })}\n`);
    this.#erase();
    this.#draw(status);
  }

  #draw(status: BridgeStatus): void {
    const lines = this.lines(status);
    this.io.stdout.write(`${lines.join("\n")}\n`);
    if (!this.tty) return;
    this.#last = status;
    this.#drawn = lines.length;
  }

  /** Moves the cursor to the start of the status block and clears it (ANSI CSI F, CSI J). */
  #erase(): void {
    if (this.#drawn > 0) this.io.stdout.write(`\x1b[${this.#drawn}F\x1b[J`);
    this.#drawn = 0;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run(process.argv.slice(2)).then((code) => process.exit(code));
}
