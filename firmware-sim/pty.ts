// Pseudo-terminal pairs for simulated devices: socat joins two ptys, one end for the simulator,
// the other for the bridge, each reachable through a symlink we name. socat is a process of
// ours, stopped by its PID (it then removes its links); a small shell guard kills it too if
// this process dies without stopping it (SIGKILL runs no exit hook), so no orphaned socat is
// left holding links to nowhere. Both run in process groups of their own: a terminal's Ctrl-C
// signals the foreground group, and the devices' lines must outlive the bridge's orderly stop.
import { spawn, type ChildProcess } from "node:child_process";
import { constants, lstatSync, openSync } from "node:fs";
import { ReadStream, WriteStream } from "node:tty";

/** A pty pair could not be made or used; the message says what to do. */
export class PtyError extends Error {
  override readonly name = "PtyError";
}

export interface PtyPair {
  /** Where the simulator opens its end. */
  readonly devicePath: string;
  /** Where the bridge opens its end. */
  readonly bridgePath: string;
  /** socat's PID. */
  readonly pid: number;
  /** Settles when socat exits, whoever stopped it, with what it said last. */
  readonly exited: Promise<string>;
  /** Stops socat (SIGTERM, SIGKILL after `graceMs`) and waits for it; its links are then gone. */
  close(graceMs?: number): Promise<void>;
}

export interface PtyOptions {
  /** How long socat may take to set the pair up (ms). Default 5000. */
  timeoutMs?: number;
  /** The socat executable. Default "socat" (from PATH). */
  socat?: string;
}

/** Characters socat's address syntax leaves alone (a comma would start another option). */
const SAFE_PATH = /^[\w./+@-]+$/;
const SOCAT_READY = "starting data transfer loop";
export const INSTALL_SOCAT = "install it (Debian, Raspberry Pi OS: sudo apt-get install socat)";

/** Makes a pty pair with socat, its ends linked at `devicePath` and `bridgePath` (neither may exist yet). */
export async function openPtyPair(devicePath: string, bridgePath: string, options: PtyOptions = {}): Promise<PtyPair> {
  for (const path of [devicePath, bridgePath]) checkLinkPath(path);
  const link = (path: string) => `pty,raw,echo=0,link=${path}`;
  const socat = spawn(options.socat ?? "socat", ["-d", "-d", link(devicePath), link(bridgePath)], { stdio: ["ignore", "ignore", "pipe"], detached: true });
  let said = "";
  socat.stderr!.setEncoding("utf8");
  socat.stderr!.on("data", (chunk: string) => void (said = (said + chunk).slice(-4096)));
  const exited = new Promise<string>((resolve) => socat.once("close", () => resolve(said.trim())));
  try {
    await ready(socat, () => said, options.timeoutMs ?? 5000);
  } catch (error) {
    await stop(socat, 1000);
    throw error;
  }
  const releaseGuard = guard(socat.pid!);
  return {
    devicePath,
    bridgePath,
    pid: socat.pid!,
    exited,
    async close(graceMs = 2000) {
      await stop(socat, graceMs);
      releaseGuard();
    },
  };
}

function checkLinkPath(path: string): void {
  if (!SAFE_PATH.test(path)) throw new PtyError(`cannot make a link at ${JSON.stringify(path)}: use a directory whose path has only letters, digits and . _ - + @ /`);
  let exists = true;
  try {
    lstatSync(path);
  } catch {
    exists = false;
  }
  if (exists) throw new PtyError(`${path} exists already: is another simulator using it? Remove it or choose another directory`);
}

/** Resolves when socat says its transfer loop runs; rejects if it cannot start, exits or takes too long. */
function ready(socat: ChildProcess, said: () => string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => settle(new PtyError(`socat did not set up the pty pair within ${timeoutMs} ms: ${said() || "it said nothing"}`)), timeoutMs);
    const onData = () => said().includes(SOCAT_READY) && settle();
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => settle(new PtyError(`socat exited (${signal ?? `code ${code}`}) before setting up the pty pair: ${said() || "it said nothing"}`));
    const onError = (error: NodeJS.ErrnoException) =>
      settle(new PtyError(error.code === "ENOENT" ? `socat was not found: the simulator makes its pseudo-terminals with it; ${INSTALL_SOCAT}` : `socat could not be started: ${error.message}`));
    function settle(error?: Error): void {
      clearTimeout(timer);
      socat.stderr!.off("data", onData);
      socat.off("exit", onExit);
      socat.off("error", onError);
      if (error) reject(error);
      else resolve();
    }
    socat.stderr!.on("data", onData);
    socat.once("exit", onExit);
    socat.once("error", onError);
  });
}

/** SIGTERM (socat then removes its links), SIGKILL if it is still there after `graceMs`; resolves once it has exited. */
async function stop(socat: ChildProcess, graceMs: number): Promise<void> {
  if (socat.pid === undefined || socat.exitCode !== null || socat.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => socat.once("exit", () => resolve()));
  socat.kill("SIGTERM");
  const timer = setTimeout(() => socat.kill("SIGKILL"), graceMs);
  await gone;
  clearTimeout(timer);
}

/**
 * A shell that waits on a pipe from us: end-of-file (we died) makes it SIGTERM socat, after
 * checking /proc that the PID is still a socat (never a recycled PID). The returned function
 * releases it once socat is stopped. Neither the shell nor its pipe keeps this process alive.
 */
function guard(pid: number): () => void {
  const script = 'if read -r _; then exit 0; fi; [ "$(cat /proc/$1/comm 2>/dev/null)" = socat ] && kill -TERM "$1"';
  const shell = spawn("/bin/sh", ["-c", script, "sh", String(pid)], { stdio: ["pipe", "ignore", "ignore"], detached: true });
  shell.on("error", () => {});
  shell.stdin!.on("error", () => {});
  shell.unref();
  (shell.stdin as unknown as { unref?: () => void }).unref?.();
  return () => void shell.stdin!.end("release\n");
}

/**
 * The simulator's end of a pty, through Node's tty streams: a pty is a terminal, so they read it
 * without blocking (fs streams would hold a thread-pool thread per device) and need no native
 * addon (serialport is an optional dependency). Bytes the far end does not take pile up in the
 * pty and then here: past `maxBacklog` bytes, writes are dropped and counted, as a UART with
 * nobody listening loses them.
 */
export class TtyEnd {
  /** Bytes dropped because the far end was not reading. */
  dropped = 0;
  readonly #input: ReadStream;
  readonly #output: WriteStream;
  readonly #maxBacklog: number;

  constructor(path: string, onData: (bytes: Uint8Array) => void, onError: (error: Error) => void, maxBacklog = 64 * 1024) {
    const open = (mode: number) => openSync(path, mode | constants.O_NOCTTY);
    this.#input = new ReadStream(open(constants.O_RDONLY));
    this.#output = new WriteStream(open(constants.O_WRONLY));
    this.#maxBacklog = maxBacklog;
    this.#input.on("data", (chunk: Buffer) => onData(chunk));
    this.#input.on("error", onError);
    this.#output.on("error", onError);
  }

  write(bytes: Uint8Array): void {
    if (this.#output.writableLength + bytes.length > this.#maxBacklog) {
      this.dropped += bytes.length;
      return;
    }
    this.#output.write(bytes);
  }

  close(): void {
    this.#input.destroy();
    this.#output.destroy();
  }
}
