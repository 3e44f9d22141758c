// `edgews gateway --demo` end to end, as a process with a config file: simulated devices on
// ptys through the bridge to the embedded broker, read by MQTT.js over TCP and by our client over
// WebSocket; a command switching the relay; /healthz and /metrics moving; the ACLs of each role
// and refused passwords; SIGTERM (devices offline, WebSocket clients closed 1001) and a restart
// that delivers every queued message and the retained ones (counted).
import mqtt, { type MqttClient as MqttJsClient } from "mqtt";
import { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../../src/gateway/auth.js";
import { connect, SubackError, type MqttClient } from "../../src/mqtt/index.js";
import { metricValue, scrape, scratchDir, startGatewayProcess, type GatewayProcess } from "../support/gateway.js";
import { ensureSocat } from "../support/pty.js";

const PASSWORDS = { tester: "admin-secret", viewer: "viewer-secret", "dev-a": "a-secret", "dev-b": "b-secret" };
const ENV = { EDGEWS_TEST_ADMIN: PASSWORDS.tester, EDGEWS_TEST_VIEWER: PASSWORDS.viewer, EDGEWS_TEST_DEVB: PASSWORDS["dev-b"] };

let gateway: GatewayProcess;
let scratch: ReturnType<typeof scratchDir>;
let args: string[];
const clients: Array<{ end(force?: boolean): unknown }> = [];

async function config(): Promise<string> {
  return `
auth:
  anonymous: refuse
  users:
    - { username: tester, role: admin, passwordEnv: EDGEWS_TEST_ADMIN }
    - { username: viewer, role: dashboard, passwordEnv: EDGEWS_TEST_VIEWER }
    - { username: dev-a, role: device, passwordHash: "${await hashPassword(PASSWORDS["dev-a"])}" }
    - { username: dev-b, role: device, passwordEnv: EDGEWS_TEST_DEVB }
log: { level: warn }
`;
}

beforeAll(async () => {
  await ensureSocat();
  scratch = scratchDir({ "gateway.yaml": await config() });
  args = ["--demo", "--devices", "3", "--rate", "5", "--config", `${scratch.dir}/gateway.yaml`, "--state-dir", `${scratch.dir}/state`];
  gateway = await startGatewayProcess(args, ENV);
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.end(true);
  await gateway?.stop();
  scratch?.remove();
});

function mqttJs(user: keyof typeof PASSWORDS, options: mqtt.IClientOptions = {}): Promise<MqttJsClient> {
  return mqtt.connectAsync(gateway.mqttUrl!, { username: user, password: PASSWORDS[user], reconnectPeriod: 0, ...options }).then((client) => {
    clients.push(client);
    return client;
  });
}

async function ours(user: keyof typeof PASSWORDS): Promise<MqttClient> {
  const client = connect(gateway.brokerUrl, { protocolVersion: 4, username: user, password: PASSWORDS[user], reconnect: false });
  clients.push({ end: () => void client.end().catch(() => {}) });
  await new Promise<void>((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("error", reject);
  });
  return client;
}

/** Resolves with the first message `client` gets that satisfies `accept`. */
function nextMessage(client: MqttJsClient, accept: (topic: string, payload: string) => boolean, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no such message within the time")), timeoutMs);
    client.on("message", (topic, payload) => {
      if (!accept(topic, payload.toString())) return;
      clearTimeout(timer);
      resolve(payload.toString());
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("edgews gateway --demo", () => {
  it("streams every device's readings to MQTT.js over TCP and to our client over WebSocket; a command switches the relay", async () => {
    const seenByMqttJs = new Set<string>();
    const viewer = await mqttJs("viewer");
    viewer.on("message", (topic) => seenByMqttJs.add(topic));
    await viewer.subscribeAsync("edgews/+", { qos: 0 });
    const seenByOurs = new Set<string>();
    const ourViewer = await ours("viewer");
    await ourViewer.subscribe("edgews/+", { qos: 1, onMessage: (topic) => void seenByOurs.add(topic) });
    const relay = gateway.devices.find((id) => id.includes("relay"))!;
    const result = nextMessage(viewer, (topic, payload) => topic === `edgews/${relay}/set/result` && JSON.parse(payload).transaction === 7);
    await viewer.subscribeAsync(`edgews/${relay}/set/result`, { qos: 1 });
    await ourViewer.publish(`edgews/${relay}/set`, JSON.stringify({ toggle: null, transaction: 7 }), { qos: 1 });
    expect(JSON.parse(await result)).toMatchObject({ command: "toggle", status: "ok", transaction: 7 });
    await sleep(1500);
    const expected = gateway.devices.map((id) => `edgews/${id}`);
    expect([...seenByMqttJs]).toEqual(expect.arrayContaining(expected));
    expect([...seenByOurs]).toEqual(expect.arrayContaining(expected));
  }, 30_000);

  it("answers /healthz ok for broker, bridge and store, and /metrics whose counts move", async () => {
    const health = await fetch(`${gateway.httpUrl}healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok", broker: "ok", bridge: "ok", store: "ok" });
    const before = await scrape(gateway.httpUrl);
    await sleep(1500);
    const after = await scrape(gateway.httpUrl);
    for (const [name, labels] of [["edgews_broker_messages_in_total", {}], ["edgews_broker_messages_out_total", {}], ["edgews_serial_packets_total", { result: "ok" }], ["edgews_broker_bytes_total", { direction: "in" }]] as const) {
      expect(metricValue(after, name, labels), name).toBeGreaterThan(metricValue(before, name, labels));
    }
    expect(metricValue(after, "edgews_broker_connections", { transport: "ws" })).toBeGreaterThanOrEqual(1);
    expect(metricValue(after, "edgews_bridge_up")).toBe(1);
    expect(metricValue(after, "edgews_store_bytes")).toBeGreaterThan(0);
    expect(metricValue(after, "process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(after).toMatch(/^nodejs_eventloop_lag_p99_seconds \S+$/m);
    expect(after).toMatch(/^edgews_queue_depth\{queue="bridge_mqtt_outgoing"\} \d+$/m);
  });
});

describe("the embedded broker's access control", () => {
  it("refuses a wrong password, an unknown user and a client without credentials", async () => {
    for (const options of [{ username: "dev-a", password: "wrong" }, { username: "nobody", password: "x" }, {}]) {
      await expect(mqtt.connectAsync(gateway.mqttUrl!, { ...options, reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password|Not authorized/);
    }
    expect(metricValue(await scrape(gateway.httpUrl), "edgews_broker_drops_total", { reason: "auth" })).toBeGreaterThanOrEqual(3);
  });

  it("lets a device publish only under its own topics, and a dashboard only commands", async () => {
    const admin = await mqttJs("tester");
    const received: string[] = [];
    admin.on("message", (topic, payload) => received.push(`${topic} ${payload}`));
    await admin.subscribeAsync("edgews/#", { qos: 1 });
    const devA = await mqttJs("dev-a");
    devA.on("error", () => {});
    await devA.publishAsync("edgews/dev-a", "own reading", { qos: 0 });
    // aedes drops the client that publishes outside its rights: each attempt on a connection of its own.
    for (const [user, topic] of [["dev-a", "edgews/dev-b"], ["dev-a", "edgews/dev-b/set"], ["viewer", "edgews/dev-a"]] as const) {
      const client = await mqttJs(user);
      client.on("error", () => {});
      client.publish(topic, "forged", { qos: 0 });
    }
    await sleep(1000);
    expect(received).toContain("edgews/dev-a own reading");
    expect(received.filter((r) => r.endsWith("forged"))).toEqual([]);
    expect(metricValue(await scrape(gateway.httpUrl), "edgews_broker_drops_total", { reason: "acl_publish" })).toBeGreaterThanOrEqual(3);
  });

  it("lets a device read its own commands and none meant for another", async () => {
    const devA = await ours("dev-a");
    for (const filter of ["edgews/dev-b/set", "edgews/+/set", "#", "edgews/dev-ab/set"]) {
      await expect(devA.subscribe(filter, { qos: 1 }), filter).rejects.toBeInstanceOf(SubackError);
    }
    const commandsForA: string[] = [];
    await devA.subscribe("edgews/dev-a/set", { qos: 1, onMessage: (topic) => void commandsForA.push(topic) });
    const devB = await ours("dev-b");
    const commandsForB: string[] = [];
    await devB.subscribe("edgews/dev-b/set", { qos: 1, onMessage: (topic) => void commandsForB.push(topic) });
    const viewer = await mqttJs("viewer");
    await viewer.publishAsync("edgews/dev-b/set", '{"on": null}', { qos: 1 });
    await sleep(500);
    expect(commandsForB).toEqual(["edgews/dev-b/set"]);
    expect(commandsForA).toEqual([]);
  });
});

describe("SIGTERM and a restart", () => {
  it("sets the devices offline, closes WebSocket clients with 1001, and the next start delivers every queued message and the retained ones", async () => {
    const COUNT = 200;
    const keeper = await mqttJs("tester", { clientId: "keeper", clean: false });
    await keeper.subscribeAsync("keep/#", { qos: 1 });
    await keeper.endAsync();
    const publisher = await mqttJs("tester");
    for (let i = 0; i < COUNT; i++) await publisher.publishAsync(`keep/${i}`, String(i), { qos: 1 });
    await publisher.publishAsync("kept/retained", "still here", { qos: 1, retain: true });
    const watcher = await mqttJs("tester");
    const offline = new Set<string>();
    watcher.on("message", (topic, payload) => payload.toString() === "offline" && offline.add(topic));
    await watcher.subscribeAsync(["edgews/+/availability", "edgews/bridge/state"], { qos: 1 });
    const ws = new WebSocket(gateway.brokerUrl, "mqtt");
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    const closeCode = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));

    expect(await gateway.stop()).toEqual({ code: 0, signal: null });
    expect(await closeCode).toBe(1001);
    expect([...offline].sort()).toEqual([...gateway.devices.map((id) => `edgews/${id}/availability`), "edgews/bridge/state"].sort());

    gateway = await startGatewayProcess(args, ENV);
    const got = new Set<string>();
    const resumed = await mqtt.connectAsync(gateway.mqttUrl!, { username: "tester", password: PASSWORDS.tester, clientId: "keeper", clean: false, reconnectPeriod: 0 });
    clients.push(resumed);
    resumed.on("message", (topic, payload) => topic.startsWith("keep/") && got.add(payload.toString()));
    const deadline = Date.now() + 10_000;
    while (got.size < COUNT && Date.now() < deadline) await sleep(100);
    expect(got.size).toBe(COUNT);
    const later = await mqttJs("viewer");
    const retained = nextMessage(later, (topic) => topic === "kept/retained");
    await later.subscribeAsync("kept/#", { qos: 1 });
    expect(await retained).toBe("still here");
  }, 60_000);
});
