// Pseudo-terminal pairs for serial tests: `socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B`
// joins two ptys, so that what is written to one end is read at the other, as on a null-modem
// cable. socat is apt-installed when missing (a line says so first); each pair is stopped by
// its PID. Stopping and starting a pair again on the same link paths is an unplug and a replug:
// the paths disappear, then come back on new ptys.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach } from "vitest";
import { aptInstall } from "./apt.js";
import { killOnExit, killOnParentDeath, signal } from "./processes.js";

export const SOCAT = "/usr/bin/socat";
const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 2000;

let installing: Promise<void> | undefined;

/** Installs socat with apt-get if it is missing. */
export function ensureSocat(): Promise<void> {
  if (existsSync(SOCAT)) return Promise.resolve();
  installing ??= (async () => {
    await aptInstall(["socat"]);
    if (!existsSync(SOCAT)) throw new Error(`apt-get installed socat but ${SOCAT} still does not exist`);
  })().finally(() => (installing = undefined));
  return installing;
}

export interface PtyPair {
  /** One end's path (a symlink to a /dev/pts node): the bridge's side in these tests. */
  readonly a: string;
  /** The other end: the device's side. */
  readonly b: string;
  /** socat's PID, or 0 while stopped. */
  readonly pid: number;
  /** Stops socat (SIGTERM, SIGKILL after 2 s): both ends vanish, like an unplugged adapter. */
  stop(): Promise<void>;
  /** Starts socat again on the same paths (a replug). */
  start(): Promise<void>;
}

class SocatPair implements PtyPair {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  constructor(
    readonly a: string,
    readonly b: string,
  ) {}

  get pid(): number {
    return this.#child?.pid ?? 0;
  }

  async start(): Promise<void> {
    await ensureSocat();
    if (this.#child) throw new Error(`socat for ${this.a} is already running (pid ${this.pid})`);
    const child = spawn(SOCAT, ["-d", "-d", `pty,raw,echo=0,link=${this.a}`, `pty,raw,echo=0,link=${this.b}`], { stdio: ["ignore", "ignore", "pipe"] });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once("exit", () => resolve()));
    killOnExit(child, this.#exited);
    void this.#exited.then(() => {
      if (this.#child === child) this.#child = undefined;
    });
    let log = "";
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`socat did not start its data transfer loop within ${START_TIMEOUT_MS} ms:\n${log}`)), START_TIMEOUT_MS);
        child.once("error", (error) => reject(new Error(`could not start ${SOCAT}: ${error.message}`)));
        child.once("exit", (code, sig) => reject(new Error(`socat exited (code ${code}, signal ${sig}) before its data transfer loop:\n${log}`)));
        child.stderr!.setEncoding("utf8");
        child.stderr!.on("data", (chunk: string) => {
          log += chunk;
          if (/starting data transfer loop/.test(log) && existsSync(this.a) && existsSync(this.b)) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
    } catch (error) {
      await this.stop();
      throw error;
    }
    child.stderr!.removeAllListeners("data");
    child.stderr!.resume();
    void this.#exited.then(killOnParentDeath(child.pid!, "socat"));
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      signal(child.pid, "SIGTERM");
      const timer = setTimeout(() => signal(child.pid!, "SIGKILL"), STOP_GRACE_MS);
      await this.#exited;
      clearTimeout(timer);
    }
    this.#child = undefined;
    // socat removes its links on SIGTERM; after a SIGKILL they would dangle.
    rmSync(this.a, { force: true });
    rmSync(this.b, { force: true });
  }
}

/** Starts a pty pair with its links `a` and `b` in `dir`. */
export async function startPtyPair(dir: string, name = "tty"): Promise<PtyPair> {
  const pair = new SocatPair(join(dir, `${name}-bridge`), join(dir, `${name}-device`));
  await pair.start();
  return pair;
}

/**
 * A `startPtyPair` for a suite: its pairs are stopped after each test and its scratch
 * directory removed after the suite.
 */
export function usePtyPairs(): (name?: string) => Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), "edgews-pty-"));
  const pairs: PtyPair[] = [];
  afterEach(async () => {
    await Promise.all(pairs.splice(0).map((p) => p.stop()));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return async (name = `tty${pairs.length}`) => {
    const pair = await startPtyPair(dir, name);
    pairs.push(pair);
    return pair;
  };
}
