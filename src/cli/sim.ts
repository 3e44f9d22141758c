// `edgews sim`: simulated devices on pseudo-terminals. Prints one line per device with the path
// a bridge opens, then their status (live on a terminal, a line per device now and then
// otherwise), until SIGINT or SIGTERM stops them and removes the links.
import { PtyError } from "../../firmware-sim/pty.js";
import { startFleet, MAX_DEVICES, type Fleet, type FleetDevice } from "../../firmware-sim/fleet.js";
import { DEVICE_KINDS, isDeviceKind, type DeviceKind } from "../../firmware-sim/kinds.js";
import { MAX_DRIFT_PPM } from "../../firmware-sim/device.js";
import { MAX_ERROR_RATE } from "../../firmware-sim/faults.js";
import { CommandError, EXIT, UsageError, numberOption, parseOptions } from "./usage.js";

const HELP = `Usage: edgews sim [options]

Runs simulated devices (firmware-sim/) that speak the serial link protocol, each on a
pseudo-terminal pair made with socat: the simulator holds one end, a bridge opens the other.

Options:
  -n, --devices N        devices to run, 1-${MAX_DEVICES} (default 1)
  -k, --kinds LIST       their kinds, taken in turn: ${DEVICE_KINDS.join(",")} (the default)
  -r, --rate R           telemetry messages per second per device, 0.001-100 (default 1)
  -e, --error-rate P     line faults per byte, each way: flipped bits, dropped and inserted
                         bytes, bursts; 0-${MAX_ERROR_RATE} (default 0; 1e-4 is a bad cable)
  -s, --seed N           seed of everything random, 0-4294967295 (default: random, printed)
      --mtbf SECONDS     mean time between random reboots of each device (default: never)
      --drift PPM        each device's clock is off by up to ±PPM, 0-${MAX_DRIFT_PPM} (default 20)
      --dir DIR          where to make the links (default: a new temporary directory)
      --prefix NAME      device ids are NAME-KIND-N (default sim)
      --status SECONDS   status every SECONDS when stdout is not a terminal; 0: none (default 10)
      --json             JSON lines instead of text
  -h, --help

Output: a line per device, "ID KIND PATH" (PATH is what the bridge opens), then status lines
"ID STATE sent N acked N retries N reboots N faults N". With --json: {"type":"device",...},
{"type":"ready",...}, then {"type":"status",...} objects.

Stop with Ctrl-C or SIGTERM: the devices stop, socat exits and the links are removed.
Needs socat (Debian, Raspberry Pi OS: sudo apt-get install socat).
Exit status: 0 after a clean stop, 1 on a failure, 2 on a usage error.
`;

const OPTIONS = {
  devices: { type: "string", short: "n", default: "1" },
  kinds: { type: "string", short: "k", default: DEVICE_KINDS.join(",") },
  rate: { type: "string", short: "r", default: "1" },
  "error-rate": { type: "string", short: "e", default: "0" },
  seed: { type: "string", short: "s" },
  mtbf: { type: "string" },
  drift: { type: "string", default: "20" },
  dir: { type: "string" },
  prefix: { type: "string", default: "sim" },
  status: { type: "string", default: "10" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** How often the live display on a terminal is redrawn (ms). */
const LIVE_REFRESH = 500;

export async function run(args: string[]): Promise<number> {
  const values = parseOptions(args, OPTIONS);
  if (values.help) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  const settings = settingsFrom(values);
  // Listening before the fleet starts: a signal during the start stops it as soon as it stands.
  let broken: string | undefined;
  let wake = () => {};
  const stopRequested = new Promise<void>((resolve) => {
    wake = resolve;
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  const fleet = await start(settings, (device, error) => {
    broken ??= `${device.id}: its line broke (${error.message})`;
    wake();
  });
  const output = new Output(fleet, settings.json, settings.statusEvery);
  output.announce(settings.seed);
  await stopRequested;
  output.stop();
  await fleet.stop();
  if (broken === undefined) return EXIT.ok;
  process.stderr.write(`edgews sim: ${broken}; stopped\n`);
  return EXIT.failure;
}

interface Settings {
  devices: number;
  kinds: DeviceKind[];
  rate: number;
  errorRate: number;
  seed: number;
  mtbf: number | undefined;
  driftPpm: number;
  dir: string | undefined;
  prefix: string;
  statusEvery: number;
  json: boolean;
}

function settingsFrom(values: ReturnType<typeof parseOptions<typeof OPTIONS>>): Settings {
  const kinds = values.kinds.split(",").map((k) => k.trim());
  const unknown = kinds.filter((k) => !isDeviceKind(k));
  if (unknown.length > 0) throw new UsageError(`--kinds takes ${DEVICE_KINDS.join(", ")}; unknown: ${unknown.join(", ")}`);
  // The prefix starts each device id, an MQTT topic level at the bridge.
  if (!/^[\w.-]{1,64}$/.test(values.prefix)) throw new UsageError(`--prefix takes 1 to 64 letters, digits, "_", "." or "-", got ${JSON.stringify(values.prefix)}`);
  return {
    devices: numberOption("devices", values.devices, 1, MAX_DEVICES, true),
    kinds: kinds as DeviceKind[],
    rate: numberOption("rate", values.rate, 0.001, 100),
    errorRate: numberOption("error-rate", values["error-rate"], 0, MAX_ERROR_RATE),
    seed: values.seed === undefined ? crypto.getRandomValues(new Uint32Array(1))[0] : numberOption("seed", values.seed, 0, 0xffffffff, true),
    mtbf: values.mtbf === undefined ? undefined : numberOption("mtbf", values.mtbf, 1, 1e9) * 1000,
    driftPpm: numberOption("drift", values.drift, 0, MAX_DRIFT_PPM),
    dir: values.dir,
    prefix: values.prefix,
    statusEvery: numberOption("status", values.status, 0, 86_400) * 1000,
    json: values.json,
  };
}

async function start(settings: Settings, onLineError: (device: FleetDevice, error: Error) => void): Promise<Fleet> {
  try {
    return await startFleet({ ...settings, onLineError });
  } catch (error) {
    if (error instanceof PtyError) throw new CommandError(error.message);
    throw error;
  }
}

/** What the command prints: the devices' paths, then their status. */
class Output {
  readonly #fleet: Fleet;
  readonly #json: boolean;
  readonly #live: boolean;
  readonly #timer: NodeJS.Timeout | undefined;
  #drawn = 0;

  constructor(fleet: Fleet, json: boolean, statusEvery: number) {
    this.#fleet = fleet;
    this.#json = json;
    this.#live = Boolean(process.stdout.isTTY) && !json;
    const every = this.#live ? LIVE_REFRESH : statusEvery;
    this.#timer = every > 0 ? setInterval(() => this.#status(), every) : undefined;
  }

  announce(seed: number): void {
    const { devices, dir } = this.#fleet;
    if (this.#json) {
      for (const d of devices) this.#line(JSON.stringify({ type: "device", id: d.id, kind: d.kind, path: d.path }));
      this.#line(JSON.stringify({ type: "ready", devices: devices.length, seed, dir }));
      return;
    }
    const width = Math.max(...devices.map((d) => d.id.length));
    for (const d of devices) this.#line(`${d.id.padEnd(width)}  ${d.kind.padEnd(6)}  ${d.path}`);
    process.stderr.write(`edgews sim: ${devices.length} device${devices.length === 1 ? "" : "s"} running (seed ${seed}); stop with Ctrl-C\n`);
    if (this.#live) this.#status();
  }

  stop(): void {
    clearInterval(this.#timer);
    if (this.#live) this.#status();
  }

  #status(): void {
    const width = Math.max(...this.#fleet.devices.map((d) => d.id.length));
    const rows = this.#fleet.devices.map((d) => this.#json ? JSON.stringify({ type: "status", ...statusOf(d) }) : statusLine(d, width));
    // On a terminal, redraw the block in place: move up over the previous one, clearing each line.
    const up = this.#live && this.#drawn > 0 ? `\x1b[${this.#drawn}A` : "";
    process.stdout.write(up + rows.map((row) => (this.#live ? `\x1b[2K${row}\n` : `${row}\n`)).join(""));
    this.#drawn = rows.length;
  }

  #line(text: string): void {
    process.stdout.write(`${text}\n`);
  }
}

function statusOf({ id, device, faults, end }: FleetDevice) {
  const s = device.stats;
  return {
    id, state: device.state, sent: s.telemetry + s.reliable, acked: s.acked, retries: s.retries, reboots: s.reboots,
    faults: faults.toBridge.total + faults.toDevice.total, commands: s.commands, lost: s.lost, unread: end.dropped,
  };
}

function statusLine(device: FleetDevice, idWidth: number): string {
  const s = statusOf(device);
  return `${s.id.padEnd(idWidth)}  ${s.state.padEnd(7)}  sent ${s.sent}  acked ${s.acked}  retries ${s.retries}  reboots ${s.reboots}  faults ${s.faults}`;
}
