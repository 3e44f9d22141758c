// The edge job end to end, on loopback: a gateway publishes its devices' readings as MQTT QoS 1
// over WebSocket (edgews's MQTT client, a crash-safe file store), a broker (aedes) runs behind
// edgews's WebSocketServer, and a dashboard subscribes. Halfway through, the network drops the
// gateway and the broker stays out of reach for a while: the gateway keeps accepting readings
// into its store, reconnects with backoff and resends, and the dashboard checks that nothing
// was lost. Run: npm run demo   (npm run demo -- --help)
import { mkdtemp, rm, stat } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Aedes, type Client as BrokerClient } from "aedes";
import { AuthenticationError, WebSocketServer, createWebSocketStream } from "../src/index.js";
import { connect, type MqttClient } from "../src/mqtt/index.js";
import { FileStore } from "../src/mqtt/store/index.js";

const HELP = `npm run demo -- [options]

  --devices N    simulated devices behind the gateway (default 50)
  --rate N       readings per second per device (default 20)
  --seconds N    how long the gateway publishes (default 8); at the halfway mark the network
                 drops it and the broker is out of reach for a quarter of the run
  --help         this text`;

const { values: args } = parseArgs({
  options: { devices: { type: "string", default: "50" }, rate: { type: "string", default: "20" }, seconds: { type: "string", default: "8" }, help: { type: "boolean" } },
});
if (args.help) {
  console.log(HELP);
  process.exit(0);
}
const DEVICES = positive("devices", args.devices);
const RATE = positive("rate", args.rate);
const SECONDS = positive("seconds", args.seconds);

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`--${name} must be a positive integer, got "${value}"\n\n${HELP}`);
    process.exit(2);
  }
  return n;
}

/** aedes (MQTT 3.1.1) behind edgews's WebSocketServer on 127.0.0.1: one byte stream per WebSocket. */
interface Broker {
  url: string;
  clients: Map<string, BrokerClient>;
  /** While true, new connections are refused with 503 (the broker is out of reach). */
  outage: boolean;
  close(): Promise<void>;
}

async function startBroker(): Promise<Broker> {
  const broker = await Aedes.createBroker();
  const clients = new Map<string, BrokerClient>();
  broker.on("client", (client) => clients.set(client.id, client));
  broker.on("clientDisconnect", (client) => clients.delete(client.id));
  const wss = new WebSocketServer({
    port: 0,
    handleProtocols: (offered) => (offered.has("mqtt") ? "mqtt" : false),
    authenticate: () => {
      if (result.outage) throw new AuthenticationError(503, "broker out of reach");
    },
  });
  wss.on("connection", (ws, request) => broker.handle(createWebSocketStream(ws).on("error", () => {}), request));
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  const { port } = wss.address() as AddressInfo;
  const result: Broker = {
    url: `ws://127.0.0.1:${port}/mqtt`,
    clients,
    outage: false,
    close: async () => {
      await wss.close();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
  return result;
}

/** Counts what the dashboard receives: per device, the readings seen, to find gaps and repeats. */
class Tally {
  readonly seen = Array.from({ length: DEVICES }, () => new Set<number>());
  duplicates = 0;
  received = 0;

  add(payload: Buffer): void {
    const { device, seq } = JSON.parse(payload.toString()) as { device: number; seq: number };
    this.received++;
    if (this.seen[device]!.has(seq)) this.duplicates++;
    else this.seen[device]!.add(seq);
  }

  get unique(): number {
    return this.seen.reduce((n, s) => n + s.size, 0);
  }
}

function reading(device: number, seq: number): string {
  return JSON.stringify({ device, seq, celsius: +(20 + 3 * Math.sin(seq / 10 + device)).toFixed(2), at: Date.now() });
}

const until = (done: () => boolean, ms: number) =>
  new Promise<boolean>((resolve) => {
    const deadline = Date.now() + ms;
    const check = () => (done() ? resolve(true) : Date.now() > deadline ? resolve(false) : setTimeout(check, 20));
    check();
  });

const dir = await mkdtemp(join(tmpdir(), "edgews-gateway-"));
const broker = await startBroker();
const tally = new Tally();
const dashboard = connect(broker.url, { clientId: "dashboard" });
dashboard.on("error", (error) => console.error(`dashboard: ${error.message}`));
await dashboard.subscribe("site/+/telemetry", { qos: 1, onMessage: (_topic, payload) => tally.add(payload) });

const store = await FileStore.open(join(dir, "gateway.log"), { fsync: "always" });
const gateway: MqttClient = connect(broker.url, { clientId: "gateway", clean: false, store, reconnect: { initialDelay: 200, maxDelay: 2000 } });
let reconnects = 0;
let drops = 0;
gateway.on("reconnect", () => reconnects++);
let lastError = "";
gateway.on("error", (error: Error & { statusCode?: number }) => (lastError = error.statusCode ? `HTTP ${error.statusCode}` : error.message.slice(0, 60)));
await new Promise((resolve) => gateway.once("connect", resolve));

console.log(`edgews gateway demo: ${DEVICES} devices × ${RATE} readings/s for ${SECONDS} s, QoS 1 over ${broker.url}, store ${store.durability}-safe`);
let accepted = 0;
let seq = 0;
const started = Date.now();
const failures: Error[] = [];
const tick = setInterval(() => {
  for (let device = 0; device < DEVICES; device++) {
    gateway.publish(`site/${device}/telemetry`, reading(device, seq), { qos: 1 }).then(() => accepted++, (error: Error) => failures.push(error));
  }
  seq++;
}, 1000 / RATE);
const dropAt = setTimeout(() => {
  // The network goes away under the gateway: its connection is cut, and for a while the broker
  // can't be reached at all.
  broker.outage = true;
  broker.clients.get("gateway")?.conn.destroy(new Error("network drop"));
  drops++;
  setTimeout(() => (broker.outage = false), (SECONDS * 1000) / 4);
}, (SECONDS * 1000) / 2);
const stats = setInterval(() => {
  const state = gateway.connected ? "online " : lastError ? `OFFLINE (${lastError})` : "OFFLINE";
  const line = `  ${((Date.now() - started) / 1000).toFixed(1)} s  published ${seq * DEVICES}  accepted ${accepted}  delivered ${tally.unique}  in store ${store.size}  reconnects ${reconnects}  ${state}`;
  process.stdout.write(process.stdout.isTTY ? `\r${line}   ` : `${line}\n`);
}, 500);

await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
clearInterval(tick);
clearTimeout(dropAt);
const published = seq * DEVICES;
const settled = await until(() => accepted + failures.length === published && tally.unique >= accepted, 30_000);
clearInterval(stats);
if (process.stdout.isTTY) console.log();

const logBytes = (await stat(join(dir, "gateway.log"))).size;
await gateway.end();
await dashboard.end();
await broker.close();
await rm(dir, { recursive: true, force: true });

console.log(`  network drops ${drops}, reconnects ${reconnects}; store log ${(logBytes / 1024).toFixed(0)} KiB after compaction`);
console.log(`  published ${published}, accepted ${accepted}, delivered ${tally.unique} (+${tally.duplicates} duplicates, allowed by QoS 1)`);
const lost = accepted - tally.unique;
if (!settled || lost > 0 || failures.length > 0) {
  console.error(`  FAILED: ${lost} accepted readings lost, ${failures.length} publishes failed${failures[0] ? ` (${failures[0].message})` : ""}`);
  process.exit(1);
}
console.log("  nothing lost");
