// `edgews gateway` as a process for tests: started with tsx on ports the kernel picks, its
// announced URLs read from stdout, its /metrics parsed, stopped by its PID.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { binNodeFlags, spawnTsx, type Exit, type NodeChild } from "./processes.js";

export interface GatewayProcess {
  readonly child: NodeChild;
  /** http://127.0.0.1:PORT/ */
  readonly httpUrl: string;
  /** What the bridge uses: ws://127.0.0.1:PORT/mqtt, or the external broker. */
  readonly brokerUrl: string;
  /** mqtt://127.0.0.1:PORT, the embedded broker's TCP listener (none with --broker). */
  readonly mqttUrl: string | undefined;
  /** The simulated devices' ids (--demo). */
  readonly devices: string[];
  /** SIGTERM and the exit. */
  stop(): Promise<Exit>;
}

/**
 * Starts `edgews gateway ...args --http-port 0 --mqtt-port 0` and waits for it to announce
 * itself: from src/ with tsx, or with `built` from dist/ as users run it, with the node flags of
 * the bin's shebang (what benches measure);
 * `detached`: leading a process group of its own, as a shell starts it (Ctrl-C signals the group).
 */
export async function startGatewayProcess(args: string[], env: NodeJS.ProcessEnv = {}, { built = false, detached = false } = {}): Promise<GatewayProcess> {
  const argv = ["gateway", "--http-port", "0", "--mqtt-port", "0", ...args];
  const child = await spawnTsx(built ? "dist/cli/main.js" : "src/cli/main.ts", argv, { env: { ...process.env, ...env }, tsx: !built, nodeArgs: built ? binNodeFlags() : [], detached });
  try {
    await child.waitForLine(/^edgews gateway running/, 30_000);
    const broker = (await child.waitForLine(/^ {2}broker\s+(\S+)/))[1]!;
    const stdout = () => child.lines.join("\n");
    await child.waitForLine(/^Stop with Ctrl-C/);
    return {
      child,
      brokerUrl: broker,
      httpUrl: /^ {2}health\s+(\S+)healthz$/m.exec(stdout())![1]!,
      mqttUrl: /^ {2}mqtt\s+(\S+)$/m.exec(stdout())?.[1],
      devices: /^ {2}devices\s+\d+ simulated: (.+)$/m.exec(stdout())?.[1]?.split(", ") ?? [],
      stop: () => child.kill("SIGTERM", 15_000),
    };
  } catch (error) {
    await child.kill("SIGKILL");
    throw error;
  }
}

/** A temporary directory with `files` written in it; `remove()` deletes it. */
export function scratchDir(files: Record<string, string> = {}): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "edgews-gateway-"));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The sum of a metric's samples whose labels include `labels`, from a Prometheus text exposition. */
export function metricValue(exposition: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of exposition.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) total += Number(match[3]);
  }
  return total;
}

export async function scrape(httpUrl: string): Promise<string> {
  const response = await fetch(`${httpUrl}metrics`);
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  return response.text();
}
