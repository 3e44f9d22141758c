// `edgews gateway`: the embedded broker, the serial bridge, /healthz, /metrics and the dashboard
// in one process (src/gateway/), configured by a YAML or JSON file with flags over it. `--demo`
// adds simulated devices on pseudo-terminals and lets anonymous clients read and command.
// What it started goes to stdout; the log (pino) to stderr.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MAX_DEVICES, startFleet, type Fleet } from "../../firmware-sim/fleet.js";
import { PtyError } from "../../firmware-sim/pty.js";
import { CommandError, EXIT, UsageError, numberOption, parseOptions } from "./usage.js";

const HELP = `Usage: edgews gateway [options]

Runs the gateway: an MQTT broker (aedes, embedded; sessions and retained messages kept on disk
under the state directory), MQTT over WebSocket at ws://HOST:HTTP-PORT/mqtt and MQTT over TCP,
the serial bridge for the configured ports, /healthz, Prometheus /metrics, and the dashboard.

Options:
  -c, --config FILE      YAML or JSON config (docs/gateway.md); the flags below override it
      --demo             add simulated devices on pseudo-terminals (needs socat), serve the
                         dashboard when built (dist/dashboard/), and let anonymous clients
                         read everything and send commands
  -n, --devices N        simulated devices with --demo, 1-${MAX_DEVICES} (default 4)
  -r, --rate R           their readings per second each, 0.001-100 (default 1)
      --broker URL       use this broker instead of the embedded one: mqtt://HOST:PORT,
                         mqtts:// (TLS), ws://HOST:PORT/PATH or wss://; the password comes
                         from EDGEWS_MQTT_PASSWORD, the username from the config
  -p, --port PATH        a serial port to bridge (repeat for several)
      --host ADDRESS     where the HTTP and MQTT listeners listen (default 127.0.0.1)
      --http-port N      the HTTP port: dashboard, /mqtt, /healthz, /metrics (default 8080)
      --mqtt-port N      the MQTT TCP port (default 1883); "none": no TCP listener
      --state-dir DIR    broker sessions, retained messages, the bridge's store (default ./edgews-state)
      --log-level L      fatal, error, warn, info (default), debug, trace or silent
      --hash-password    read a password on stdin, print its hash for auth.users[].passwordHash
  -h, --help

Stop with Ctrl-C or SIGTERM: the devices go offline, WebSocket clients are closed (1001), the
stores are flushed; the next start resumes from them.
Exit status: 0 after a clean stop, 1 on a failure, 2 on a usage or config error.
`;

const OPTIONS = {
  config: { type: "string", short: "c" },
  demo: { type: "boolean", default: false },
  devices: { type: "string", short: "n", default: "4" },
  rate: { type: "string", short: "r", default: "1" },
  broker: { type: "string" },
  port: { type: "string", short: "p", multiple: true },
  host: { type: "string" },
  "http-port": { type: "string" },
  "mqtt-port": { type: "string" },
  "state-dir": { type: "string" },
  "log-level": { type: "string" },
  "hash-password": { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

type Flags = ReturnType<typeof parseOptions<typeof OPTIONS>>;

/** The dashboard served with --demo when no config names one: as examples/dashboard/build.mjs builds it (`npm start` does). */
const DEMO_DASHBOARD = fileURLToPath(new URL("../../dist/dashboard/", import.meta.url));

export async function run(args: string[]): Promise<number> {
  const flags = parseOptions(args, OPTIONS);
  if (flags.help) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  if (flags["hash-password"]) return printHash();
  const { ConfigError } = await import("../gateway/config.js");
  try {
    const config = await configFrom(flags);
    return await serve(config, flags);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

async function printHash(): Promise<number> {
  const { hashPassword } = await import("../gateway/auth.js");
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const password = Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
  if (password === "") throw new UsageError("--hash-password reads the password on stdin; it was empty (e.g. printf '%s' \"$PASSWORD\" | edgews gateway --hash-password)");
  process.stdout.write(`${await hashPassword(password)}\n`);
  return EXIT.ok;
}

type Config = import("../gateway/config.js").GatewayConfig;

/** The config file, then the flags over it, validated together. */
async function configFrom(flags: Flags): Promise<Config> {
  const { checkConfig, readConfigFile } = await import("../gateway/config.js");
  const raw = flags.config ? await readConfigFile(flags.config) : {};
  const section = (key: string) => (raw[key] = { ...(raw[key] as object | undefined) }) as Record<string, unknown>;
  if (flags.host !== undefined) section("http").host = section("mqtt").host = flags.host;
  if (flags["http-port"] !== undefined) section("http").port = numberOption("http-port", flags["http-port"], 0, 65535, true);
  if (flags["mqtt-port"] !== undefined) section("mqtt").port = flags["mqtt-port"] === "none" ? null : numberOption("mqtt-port", flags["mqtt-port"], 0, 65535, true);
  if (flags["state-dir"] !== undefined) raw.stateDir = flags["state-dir"];
  if (flags["log-level"] !== undefined) section("log").level = flags["log-level"];
  if (flags.broker !== undefined) raw.broker = { ...(raw.broker as object | undefined), url: flags.broker };
  if (flags.port) section("bridge").ports = flags.port;
  if (flags.demo) {
    const auth = section("auth");
    auth.anonymous ??= "dashboard";
    if (raw.dashboard === undefined && existsSync(join(DEMO_DASHBOARD, "index.html"))) raw.dashboard = DEMO_DASHBOARD;
  }
  return checkConfig(raw, flags.config ?? "the flags");
}

async function serve(config: Config, flags: Flags): Promise<number> {
  const [{ createLogger }, { startGateway }] = await Promise.all([import("../gateway/log.js"), import("../gateway/gateway.js")]);
  const log = createLogger(config.log.level, process.stderr);
  // Listening before anything starts: a signal during the start stops what stands.
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) process.exit(EXIT.failure); // a second signal: out now
      stopping = true;
      resolve(signal);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  const fleet = flags.demo ? await startDemoDevices(flags, log) : undefined;
  if (fleet) config.bridge.ports = [...config.bridge.ports, ...fleet.devices.map((d) => d.path)];
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    log.info({ stateDir: config.stateDir }, config.broker ? `connecting to the broker ${config.broker.url}` : "starting the embedded broker");
    gateway = await startGateway({ config, log });
  } catch (error) {
    await fleet?.stop();
    throw new CommandError((error as Error).message);
  }
  announce(gateway, config, fleet);
  const signal = await stopRequested;
  log.info(`${signal}: stopping (bridge, broker, HTTP)`);
  await gateway.stop();
  await fleet?.stop();
  log.info("stopped");
  return EXIT.ok;
}

async function startDemoDevices(flags: Flags, log: import("pino").Logger): Promise<Fleet> {
  const devices = numberOption("devices", flags.devices, 1, MAX_DEVICES, true);
  const rate = numberOption("rate", flags.rate, 0.001, 100);
  log.info(`starting ${devices} simulated device${devices === 1 ? "" : "s"} on pseudo-terminals (socat)`);
  try {
    return await startFleet({ devices, rate, seed: crypto.getRandomValues(new Uint32Array(1))[0] });
  } catch (error) {
    if (error instanceof PtyError) throw new CommandError(error.message);
    throw error;
  }
}

/** What runs and where, for a person (and for tests, which read these lines). */
function announce(gateway: Awaited<ReturnType<typeof import("../gateway/gateway.js").startGateway>>, config: Config, fleet: Fleet | undefined): void {
  const lines = [`edgews gateway running (state in ${config.stateDir})`];
  if (fleet) lines.push(`  devices    ${fleet.devices.length} simulated: ${fleet.devices.map((d) => d.id).join(", ")}`);
  if (config.bridge.ports.length > 0) lines.push(`  bridge     ${config.bridge.ports.length} serial port${config.bridge.ports.length === 1 ? "" : "s"}, topics under ${config.bridge.base}/`);
  lines.push(`  broker     ${gateway.brokerUrl}${config.broker ? " (external)" : ""}`);
  if (gateway.mqttUrl) lines.push(`  mqtt       ${gateway.mqttUrl}`);
  if (config.dashboard) lines.push(`  dashboard  ${gateway.httpUrl}   <- open this`);
  lines.push(`  health     ${gateway.httpUrl}healthz`, `  metrics    ${gateway.httpUrl}metrics`);
  if (config.auth.anonymous === "dashboard") lines.push("  anonymous clients may read everything and send commands (demo)");
  lines.push("Stop with Ctrl-C.");
  process.stdout.write(`${lines.join("\n")}\n`);
}
