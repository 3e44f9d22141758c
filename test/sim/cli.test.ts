// `edgews` and `edgews sim` as processes (run with tsx): the dispatcher's help, errors and exit
// codes, and that it imports a subcommand only when it runs; the simulator's ptys opened with
// serialport by a bridge-role link end that sees hellos and telemetry; SIGTERM and SIGKILL
// leave no link behind.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SerialPort } from "serialport";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LinkSession, MessageKind, decodeHello, decodeTelemetry, telemetryRecord, type Hello, type Value } from "../../src/link/index.js";
import { ensureSocat } from "../support/pty.js";
import { spawnTsx, type NodeChild } from "../support/processes.js";

const MAIN = "src/cli/main.ts";
const DEVICE_LINE = /^(\S+)\s+(sensor|relay|meter)\s+(\/\S+)$/;

/** Runs `edgews ...args` to its end. */
async function edgews(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = await spawnTsx(MAIN, args, env ? { env } : {});
  const timer = setTimeout(() => void child.kill("SIGKILL"), 20_000);
  const exit = await child.exited;
  clearTimeout(timer);
  if (exit.signal === "SIGKILL") throw new Error(`edgews ${args.join(" ")} did not exit within 20 s\n${child.stderr()}`);
  return { code: exit.code, stdout: child.lines.join("\n"), stderr: child.stderr() };
}

/** A bridge-role link end on a pty opened with serialport, decoding what the device sends. */
class BridgeEnd {
  hello: Hello | undefined;
  readonly telemetry: Array<Record<string, Value>> = [];
  readonly #port: SerialPort;
  readonly #link: LinkSession;
  readonly #ticker: NodeJS.Timeout;

  constructor(path: string) {
    this.#port = new SerialPort({ path, baudRate: 115_200 });
    this.#link = new LinkSession({}, {
      write: (bytes) => void this.#port.write(bytes),
      message: (kind, body) => {
        if (kind === MessageKind.Hello) this.hello = decodeHello(body);
        else if (kind === MessageKind.Telemetry && this.hello) this.telemetry.push(telemetryRecord(decodeTelemetry(body, this.hello), this.hello));
      },
    });
    this.#port.on("data", (chunk: Buffer) => this.#link.receive(chunk));
    this.#ticker = setInterval(() => this.#link.tick(), 20);
  }

  async close(): Promise<void> {
    clearInterval(this.#ticker);
    await new Promise<void>((resolve) => (this.#port.isOpen ? this.#port.close(() => resolve()) : resolve()));
  }
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** PIDs whose command line mentions `text` (socats holding links in a directory). */
function processesMentioning(text: string): number[] {
  return readdirSync("/proc").filter((name) => /^\d+$/.test(name)).filter((pid) => {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
      return cmdline.includes(text) && state !== "Z";
    } catch {
      return false;
    }
  }).map(Number);
}

describe("edgews", () => {
  it("prints its commands on --help, and says what to do on a missing or unknown command or a bad option, with exit code 2", async () => {
    const [help, none, unknown, badOption, badValue, simHelp] = await Promise.all([
      edgews(["--help"]), edgews([]), edgews(["nope"]), edgews(["sim", "--devise", "2"]), edgews(["sim", "--devices", "0"]), edgews(["sim", "--help"]),
    ]);
    expect(help).toMatchObject({ code: 0, stdout: expect.stringMatching(/Usage: edgews <command>[\s\S]*\n {2}gateway {2}the gateway[\s\S]*\n {2}bridge {3}put UART microcontrollers on MQTT[\s\S]*\n {2}sim {6}simulated devices/) });
    expect(none).toMatchObject({ code: 2, stderr: expect.stringContaining("Usage: edgews <command>") });
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "nope"; the commands are gateway, bridge, sim (edgews --help)') });
    expect(badOption).toMatchObject({ code: 2, stderr: expect.stringMatching(/edgews sim: Unknown option '--devise'[\s\S]*The options: edgews sim --help/) });
    expect(badValue).toMatchObject({ code: 2, stderr: expect.stringContaining("--devices takes an integer from 1 to 256, got \"0\"") });
    expect(simHelp).toMatchObject({ code: 0, stdout: expect.stringContaining("sudo apt-get install socat") });
  });

  it("imports a subcommand's module only when that subcommand runs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgews-imports-"));
    try {
      // A module resolve hook that appends every resolved URL to a file.
      writeFileSync(join(dir, "hook.mjs"), 'import { appendFileSync } from "node:fs";\nexport async function resolve(specifier, context, next) {\n  const result = await next(specifier, context);\n  appendFileSync(process.env.IMPORT_TRACE, result.url + "\\n");\n  return result;\n}\n');
      writeFileSync(join(dir, "register.mjs"), 'import { register } from "node:module";\nregister("./hook.mjs", import.meta.url);\n');
      const traced = async (args: string[], file: string) => {
        const trace = join(dir, file);
        writeFileSync(trace, "");
        const { code } = await edgews(args, { ...process.env, IMPORT_TRACE: trace, NODE_OPTIONS: `--import ${join(dir, "register.mjs")}` });
        expect(code).toBe(0);
        return readFileSync(trace, "utf8");
      };
      const top = await traced(["--help"], "top.txt");
      expect(top).toMatch(/src\/cli\/main\.ts/);
      expect(top).not.toMatch(/src\/cli\/sim\.ts|firmware-sim/);
      const sim = await traced(["sim", "--help"], "sim.txt");
      expect(sim).toMatch(/src\/cli\/sim\.ts/);
      expect(sim).toMatch(/firmware-sim\/fleet\.ts/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("says to install socat when it is missing, with exit code 1", async () => {
    const emptyPath = mkdtempSync(join(tmpdir(), "edgews-no-socat-"));
    try {
      const result = await edgews(["sim", "--devices", "1"], { ...process.env, PATH: emptyPath });
      expect(result).toMatchObject({ code: 1, stderr: expect.stringContaining("socat was not found: the simulator makes its pseudo-terminals with it; install it (Debian, Raspberry Pi OS: sudo apt-get install socat)") });
    } finally {
      rmSync(emptyPath, { recursive: true, force: true });
    }
  });
});

describe("edgews sim", () => {
  beforeAll(ensureSocat, 300_000);
  const children: NodeChild[] = [];
  afterAll(async () => {
    for (const child of children) await child.kill("SIGKILL");
  });

  it("prints two paths; a bridge end opening them with serialport gets each device's hello and telemetry; SIGTERM removes the links", async () => {
    const sim = await spawnTsx(MAIN, ["sim", "--devices", "2", "--kinds", "sensor,meter", "--rate", "20", "--seed", "7", "--status", "1"]);
    children.push(sim);
    const devices = [await sim.waitForLine(DEVICE_LINE, 20_000), await sim.waitForLine(DEVICE_LINE, 5_000)].map(([, id, kind, path]) => ({ id, kind, path }));
    expect(devices.map((d) => [d.id, d.kind])).toEqual([["sim-sensor-1", "sensor"], ["sim-meter-2", "meter"]]);
    for (const { path } of devices) expect(existsSync(path)).toBe(true);

    const bridges = devices.map(({ path }) => new BridgeEnd(path));
    try {
      await until(() => bridges.every((b) => b.telemetry.length >= 10), 15_000, "10 readings from each device");
    } finally {
      await Promise.all(bridges.map((b) => b.close()));
    }
    expect(bridges.map((b) => b.hello?.deviceId)).toEqual(["sim-sensor-1", "sim-meter-2"]);
    expect(Object.keys(bridges[0].telemetry[0])).toEqual(["temperature", "humidity"]);
    expect(Object.keys(bridges[1].telemetry[0])).toEqual(["power", "voltage", "current", "energy"]);
    for (const reading of bridges[0].telemetry) expect(reading.temperature as number).toBeGreaterThan(5);
    // Status lines name each device with what it sent.
    await sim.waitForLine(/^sim-meter-2\s+\S+\s+sent [1-9]\d*\s+acked [1-9]/, 5_000);

    const dir = devices[0].path.slice(0, devices[0].path.lastIndexOf("/"));
    const started = Date.now();
    expect(await sim.kill("SIGTERM")).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(5_000);
    for (const { path } of devices) expect(existsSync(path)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(processesMentioning(dir)).toEqual([]);
  });

  it("leaves no link and no socat behind when it is SIGKILLed", async () => {
    const sim = await spawnTsx(MAIN, ["sim", "--devices", "2", "--json", "--status", "0"]);
    children.push(sim);
    const [, json] = await sim.waitForLine(/^(\{"type":"ready".*)$/, 20_000);
    const { dir } = JSON.parse(json) as { dir: string };
    const paths = sim.lines.filter((line) => line.includes('"type":"device"')).map((line) => (JSON.parse(line) as { path: string }).path);
    expect(paths).toHaveLength(2);
    expect(processesMentioning(dir)).toHaveLength(2);

    await sim.kill("SIGKILL");
    // The shell guard sees the pipe close and stops socat, which removes its links.
    await until(() => paths.every((path) => !existsSync(path)) && processesMentioning(dir).length === 0, 5_000, "the links and the socat processes to go");
    rmSync(dir, { recursive: true, force: true });
  });
});
