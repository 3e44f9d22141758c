// Debian's Mosquitto 2.0 as a real MQTT broker for integration tests: installed with apt when
// missing (CI runs on a fresh machine as root), started on 127.0.0.1 with ports the kernel picked
// and its own config in a temp dir, stopped by its PID. A broker that can't be installed or
// started is an error, never a skipped test.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll } from "vitest";
import { aptInstall } from "./apt.js";
import { killOnExit, killOnParentDeath, signal } from "./processes.js";
import { makeCertificate } from "./tls.js";

export const MOSQUITTO = "/usr/sbin/mosquitto";
export const MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd";
const run = promisify(execFile);

export interface MosquittoOptions {
  /** One user; anonymous clients are refused on every listener. */
  auth?: { username: string; password: string };
  /** Adds TLS listeners (MQTT and WebSocket) with a self-signed certificate; its PEM is `ca`. */
  tls?: boolean;
  /** Sessions, subscriptions and queued messages survive `kill()` + `restart()` (saved after every change). */
  persistence?: boolean;
  /**
   * Extra global config lines, written before the listeners, e.g. "max_inflight_messages 0",
   * "max_queued_messages 0". Later lines win, so these can override the defaults here.
   */
  config?: string[];
}

export interface Mosquitto {
  /** PID of the running broker (a new one after `restart()`). */
  readonly pid: number;
  readonly wsPort: number;
  readonly mqttPort: number;
  /** WebSocket over TLS; only with `tls`. */
  readonly wssPort?: number;
  /** MQTT over TLS; only with `tls`. */
  readonly mqttsPort?: number;
  /** PEM of the self-signed certificate, to pass as `ca`; only with `tls`. */
  readonly ca?: string;
  /** The temp dir with the config, logs and persistence file. */
  readonly dir: string;
  /** `ws://127.0.0.1:wsPort` (Mosquitto ignores the path; clients must offer subprotocol `mqtt`). */
  readonly url: string;
  /** The broker's log file plus its stdout/stderr, so far (over every start). */
  log(): string;
  /** SIGTERM, wait for the exit, SIGKILL after 5 s. Persistence is saved on SIGTERM. */
  stop(): Promise<void>;
  /** SIGKILL (a crash) and wait for the exit. */
  kill(): Promise<void>;
  /** Starts again on the same ports, config and persistence file; stops a running broker first. */
  restart(): Promise<void>;
  /** Stops the broker and deletes its temp dir. */
  dispose(): Promise<void>;
}

let installing: Promise<void> | undefined;

/** Makes sure mosquitto and mosquitto_passwd exist, installing them with apt-get if they don't. */
export function ensureMosquitto(): Promise<void> {
  if (existsSync(MOSQUITTO) && existsSync(MOSQUITTO_PASSWD)) return Promise.resolve();
  installing ??= installMosquitto().finally(() => (installing = undefined));
  return installing;
}

async function installMosquitto(): Promise<void> {
  try {
    await aptInstall(["mosquitto", "mosquitto-clients"]);
  } catch (error) {
    throw new Error(`${MOSQUITTO} is missing and ${(error as Error).message}`);
  }
  for (const file of [MOSQUITTO, MOSQUITTO_PASSWD]) {
    if (!existsSync(file)) throw new Error(`apt-get installed mosquitto and mosquitto-clients but ${file} still does not exist`);
  }
}

/** `count` distinct free loopback ports: all are held open together, then closed. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<net.Server>((resolve, reject) => {
      const server = net.createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** Resolves once 127.0.0.1:port accepts a TCP connection; rejects on the first refusal. */
function probe(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve();
    });
    socket.once("error", (error) => {
      socket.destroy();
      reject(error);
    });
  });
}


const running = (child: ChildProcess | undefined): boolean =>
  child !== undefined && child.exitCode === null && child.signalCode === null;

interface Ports {
  mqtt: number;
  ws: number;
  mqtts?: number;
  wss?: number;
}

function writeConfig(dir: string, ports: Ports, options: MosquittoOptions): string {
  const lines = [
    "# written by test/support/mosquitto.ts",
    "per_listener_settings false",
    // As root, mosquitto drops to user `mosquitto` unless told otherwise, and then can't write to
    // this 0700 temp dir.
    "user root",
    `pid_file ${join(dir, "mosquitto.pid")}`,
    // stdout is block-buffered when it isn't a tty: the log goes to a file instead.
    `log_dest file ${join(dir, "mosquitto.log")}`,
    ...["error", "warning", "notice", "information", "subscribe", "unsubscribe"].map((t) => `log_type ${t}`),
    "log_timestamp_format %H:%M:%S",
    "connection_messages true",
  ];
  if (options.persistence) {
    lines.push(
      "persistence true",
      `persistence_location ${dir}/`,
      "persistence_file mosquitto.db",
      // Save after every change, so that a SIGKILL loses nothing the broker acknowledged.
      "autosave_on_changes true",
      "autosave_interval 1",
    );
  } else {
    lines.push("persistence false");
  }
  if (options.auth) {
    lines.push("allow_anonymous false", `password_file ${join(dir, "passwd")}`);
  } else {
    // Mosquitto 2 refuses anonymous clients unless told otherwise once a listener is configured.
    lines.push("allow_anonymous true");
  }
  lines.push(...(options.config ?? []));
  lines.push(`listener ${ports.mqtt} 127.0.0.1`, "protocol mqtt");
  lines.push(`listener ${ports.ws} 127.0.0.1`, "protocol websockets", "socket_domain ipv4");
  if (ports.mqtts !== undefined && ports.wss !== undefined) {
    const tls = [`certfile ${join(dir, "cert.pem")}`, `keyfile ${join(dir, "key.pem")}`];
    lines.push(`listener ${ports.mqtts} 127.0.0.1`, "protocol mqtt", ...tls);
    lines.push(`listener ${ports.wss} 127.0.0.1`, "protocol websockets", "socket_domain ipv4", ...tls);
  }
  const file = join(dir, "mosquitto.conf");
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

const START_TIMEOUT_MS = 15_000;

/**
 * Installs Mosquitto if needed and starts it on 127.0.0.1 with an MQTT and a WebSocket listener
 * (plus MQTT and WebSocket over TLS with `tls`), each on a port the kernel picked. Resolves once
 * every port accepts TCP.
 */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  await ensureMosquitto();
  const dir = mkdtempSync(join(tmpdir(), "edgews-mosquitto-"));
  try {
    let ca: string | undefined;
    if (options.tls) {
      const certificate = makeCertificate();
      try {
        ca = certificate.cert.toString("utf8");
        writeFileSync(join(dir, "cert.pem"), certificate.cert);
        writeFileSync(join(dir, "key.pem"), certificate.key, { mode: 0o600 });
      } finally {
        certificate.remove();
      }
    }
    if (options.auth) {
      try {
        await run(MOSQUITTO_PASSWD, ["-c", "-b", join(dir, "passwd"), options.auth.username, options.auth.password]);
      } catch (error) {
        throw new Error(`\`mosquitto_passwd -c -b\` failed: ${(error as Error).message}`);
      }
    }
    // The kernel's free ports can be taken by someone else before mosquitto binds them: retry.
    for (let attempt = 1; ; attempt++) {
      const [mqtt, ws, mqtts, wss] = await freePorts(options.tls ? 4 : 2);
      const ports: Ports = options.tls ? { mqtt: mqtt!, ws: ws!, mqtts: mqtts!, wss: wss! } : { mqtt: mqtt!, ws: ws! };
      const broker = new Broker(dir, ports, writeConfig(dir, ports, options), ca);
      try {
        await broker.start();
        return broker;
      } catch (error) {
        // A taken port: "Address already in use" (TCP), "Unable to create websockets listener" (lws).
        if (attempt >= 3 || !/Address already in use|Unable to create websockets listener/.test(broker.log())) throw error;
        for (const log of ["mosquitto.log", "stdout.log", "stderr.log"]) rmSync(join(dir, log), { force: true });
      }
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

class Broker implements Mosquitto {
  readonly url: string;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  constructor(
    readonly dir: string,
    readonly ports: Ports,
    readonly config: string,
    readonly ca: string | undefined,
  ) {
    this.url = `ws://127.0.0.1:${ports.ws}`;
  }

  get pid(): number {
    return this.#child?.pid ?? 0;
  }
  get wsPort(): number {
    return this.ports.ws;
  }
  get mqttPort(): number {
    return this.ports.mqtt;
  }
  get wssPort(): number | undefined {
    return this.ports.wss;
  }
  get mqttsPort(): number | undefined {
    return this.ports.mqtts;
  }

  log(): string {
    const read = (name: string) => {
      try {
        return readFileSync(join(this.dir, name), "utf8");
      } catch {
        return "";
      }
    };
    return [read("mosquitto.log"), read("stdout.log"), read("stderr.log")].filter(Boolean).join("\n");
  }

  async start(): Promise<void> {
    if (running(this.#child)) throw new Error(`mosquitto is already running (pid ${this.pid})`);
    const out = openSync(join(this.dir, "stdout.log"), "a");
    const err = openSync(join(this.dir, "stderr.log"), "a");
    let child: ChildProcess;
    try {
      child = spawn(MOSQUITTO, ["-c", this.config], { stdio: ["ignore", out, err] });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    this.#child = child;
    let spawnError: Error | undefined;
    this.#exited = new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.once("error", (error) => {
        spawnError = error;
        resolve();
      });
    });
    if (child.pid !== undefined) void this.#exited.then(killOnParentDeath(child.pid, "mosquitto"));
    killOnExit(child, this.#exited);

    const ports = [this.ports.mqtt, this.ports.ws, this.ports.mqtts, this.ports.wss].filter((p): p is number => p !== undefined);
    const deadline = Date.now() + START_TIMEOUT_MS;
    const pending = new Set(ports);
    while (pending.size > 0) {
      if (spawnError) throw new Error(`could not start ${MOSQUITTO}: ${spawnError.message}`);
      if (!running(child)) {
        throw new Error(`mosquitto exited (code ${child.exitCode}, signal ${child.signalCode}) before listening on ${[...pending].join(", ")}; log:\n${this.log()}`);
      }
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`mosquitto (pid ${child.pid}) did not listen on 127.0.0.1:${[...pending].join(", ")} within ${START_TIMEOUT_MS} ms; log:\n${this.log()}`);
      }
      for (const port of [...pending]) {
        await probe(port).then(() => pending.delete(port), () => {});
      }
      if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || !running(child) || child.pid === undefined) return this.#exited;
    signal(child.pid, "SIGTERM");
    const timer = setTimeout(() => {
      if (running(child) && child.pid !== undefined) signal(child.pid, "SIGKILL");
    }, 5000);
    await this.#exited;
    clearTimeout(timer);
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (child && running(child) && child.pid !== undefined) signal(child.pid, "SIGKILL");
    await this.#exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Starts a broker in `beforeAll` and disposes of it in `afterAll`; call the returned function
 * inside tests to get it.
 */
export function useMosquitto(options: MosquittoOptions = {}): () => Mosquitto {
  let broker: Mosquitto | undefined;
  beforeAll(async () => {
    broker = await startMosquitto(options);
  });
  afterAll(async () => {
    await broker?.dispose();
  });
  return () => {
    if (!broker) throw new Error("useMosquitto: the broker is not started (beforeAll failed or not run yet)");
    return broker;
  };
}
