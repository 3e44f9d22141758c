// What the gateway soak's figures stand on: the resident memory and the event-loop lag p99 of
// processes doing nothing, each started with the node flags the `edgews` bin gives the gateway
// (its shebang): a bare `node`; node with aedes and its LevelDB persistence loaded and open;
// `edgews gateway` with no devices. Idle, each is measured alike: RSS from
// /proc after it settles, lag from a histogram of the same precision as prom-client's default
// metrics in the gateway (10 ms: the figure includes that interval).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { metricValue, scrape, scratchDir, startGatewayProcess } from "../../test/support/gateway.js";
import { binNodeFlags } from "../../test/support/processes.js";

export interface Floor {
  rssMiB: number;
  lagP99Ms: number;
}

export interface Floors {
  node: Floor;
  brokerStore: Floor;
  gatewayIdle: Floor;
}

const MIB = 1024 * 1024;
/** Prints the lag p99 (ms) of the last `seconds`, as the gateway's /metrics measures it. */
const LAG_PROBE = `import { monitorEventLoopDelay } from "node:perf_hooks";
const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();
process.on("SIGUSR2", () => console.log(lag.percentile(99) / 1e6));`;
const BROKER_STORE = `${LAG_PROBE}
import { Aedes } from "aedes";
import LevelPersistence from "aedes-persistence-level/asyncPersistence.js";
import { ClassicLevel } from "classic-level";
const db = new ClassicLevel(process.argv[1]);
await db.open();
await Aedes.createBroker({ persistence: new LevelPersistence(db) });
setInterval(() => {}, 60_000);`;

export async function measureFloors(settleSeconds: number): Promise<Floors> {
  const scratch = scratchDir();
  try {
    const node = await idleScript(["--input-type=module", "-e", `${LAG_PROBE}\nsetInterval(() => {}, 60_000);`], settleSeconds);
    const brokerStore = await idleScript(["--input-type=module", "-e", BROKER_STORE, join(scratch.dir, "level")], settleSeconds);
    const gatewayIdle = await idleGateway(join(scratch.dir, "state"), settleSeconds);
    return { node, brokerStore, gatewayIdle };
  } finally {
    scratch.remove();
  }
}

/** Runs `node <bin flags> ...args` from the project root for `seconds`, then reads its RSS and asks it for its lag p99. */
async function idleScript(args: string[], seconds: number): Promise<Floor> {
  const child = spawn(process.execPath, [...binNodeFlags(), ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    await sleep(seconds * 1000);
    const rssMiB = residentMiB(child.pid!);
    const answer = new Promise<string>((resolve) => child.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString())));
    child.kill("SIGUSR2");
    return { rssMiB, lagP99Ms: Number(await answer) };
  } finally {
    child.kill("SIGKILL");
    await exited;
  }
}

async function idleGateway(stateDir: string, seconds: number): Promise<Floor> {
  const gateway = await startGatewayProcess(["--state-dir", stateDir, "--log-level", "warn"], {}, { built: true });
  try {
    await scrape(gateway.httpUrl); // prom-client's lag histogram starts afresh at each scrape
    await sleep(seconds * 1000);
    const rssMiB = residentMiB(gateway.child.pid!);
    return { rssMiB, lagP99Ms: metricValue(await scrape(gateway.httpUrl), "nodejs_eventloop_lag_p99_seconds") * 1000 };
  } finally {
    await gateway.stop();
  }
}

function residentMiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return (Number(match[1]) * 1024) / MIB;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
