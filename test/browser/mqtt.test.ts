// edgews/mqtt in headless Chromium, as an app gets it: mqtt-page.ts bundled for the browser
// from the built package (its "browser" export: the page's own WebSocket), against Mosquitto's
// WebSocket listener and against aedes behind our WebSocketServer. A Node client of ours is the
// other end. Every QoS both ways; the broker killed and restarted (reconnect, resubscribe, the
// offline queue caught up); the IndexedDB store across a page reload.
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connectAsync, type MqttClient } from "../../src/mqtt/index.js";
import { startAedesServer } from "../support/aedes-server.js";
import { bundleForBrowser, importAs, installPackage, type InstalledPackage } from "../support/browser-bundle.js";
import { launchChromium, type ChromiumSession } from "../support/chromium.js";
import { startMosquitto } from "../support/mosquitto.js";
import { openPage, servePage, type PageServer } from "../support/page-server.js";
import { collect, waitFor } from "../mqtt/helpers.js";
import type { ClientState, Harness } from "./mqtt-page.js";

interface TestBroker {
  url: string;
  /** Mosquitto: SIGKILL. aedes (in this process): its server and broker closed. */
  kill(): Promise<void>;
  /** Starts again on the same port, with no state. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

async function mosquittoBroker(): Promise<TestBroker> {
  const broker = await startMosquitto();
  return { url: broker.url, kill: () => broker.kill(), restart: () => broker.restart(), close: () => broker.dispose() };
}

async function aedesBroker(): Promise<TestBroker> {
  let server = await startAedesServer();
  const port = server.port;
  return {
    url: server.url,
    kill: () => server.close(),
    restart: async () => {
      server = await startAedesServer({ port });
    },
    close: () => server.close(),
  };
}

const PAGE = fileURLToPath(new URL("./mqtt-page.ts", import.meta.url));
const FAST_RECONNECT = { reconnect: { initialDelay: 50, maxDelay: 300 } };

let installed: InstalledPackage | undefined;
let site: PageServer | undefined;
let browser: ChromiumSession | undefined;
const pageErrors: string[] = [];

beforeAll(async () => {
  installed = await installPackage();
  const bundle = await bundleForBrowser(`import ${JSON.stringify(PAGE)};`, installed.dir, [importAs("src/mqtt/browser.js", "edgews/mqtt", installed.dir)]);
  expect(bundle.nodeOnly).toEqual([]);
  site = await servePage(bundle.js);
  browser = await launchChromium();
  browser.page.on("pageerror", (e) => pageErrors.push(`pageerror: ${e.message}`));
  await openPage(browser.page, site.url);
}, 600_000); // a first run may install chromium with apt

afterAll(async () => {
  await browser?.close();
  await site?.close();
  await installed?.remove();
});

/** Calls `window.harness[method](...args)` in the page. */
function call<K extends keyof Harness>(method: K, ...args: Parameters<Harness[K]>): Promise<Awaited<ReturnType<Harness[K]>>> {
  if (!browser) throw new Error("chromium did not start");
  return browser.page.evaluate(
    ([method, args]) => (window as unknown as { harness: Record<string, (...a: unknown[]) => unknown> }).harness[method]!(...args),
    [method, args] as const,
  ) as Promise<Awaited<ReturnType<Harness[K]>>>;
}

/** Polls the page client's state until `condition` holds. */
async function waitForPage(name: string, condition: (state: ClientState) => boolean, what: string, timeout = 10_000): Promise<ClientState> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const state = await call("state", name);
    if (condition(state)) return state;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for the page's ${name} to ${what}: ${JSON.stringify(state)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const connects = (state: ClientState) => state.events.filter((e) => e === "connect").length;

// aedes 1.x speaks MQTT 3.1.1 only (it refuses v5 CONNECTs).
describe.each([
  ["Mosquitto", mosquittoBroker, [4, 5]],
  ["aedes behind our WebSocketServer", aedesBroker, [4]],
] as const)("the browser MQTT client against %s", (_name, startBroker, versions) => {
  let broker: TestBroker;
  const pageClients: string[] = [];
  const nodeClients: MqttClient[] = [];

  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.close();
  });
  afterEach(async () => {
    await Promise.all(pageClients.splice(0).map((name) => call("end", name, true)));
    await Promise.all(nodeClients.splice(0).map((client) => client.end(true)));
    expect(pageErrors).toEqual([]);
  });

  async function startPageClient(name: string, options: Parameters<Harness["start"]>[2] = {}): Promise<void> {
    await call("start", name, broker.url, options);
    pageClients.push(name);
  }

  async function nodeClient(options: Parameters<typeof connectAsync>[1] = {}): Promise<MqttClient> {
    const client = await connectAsync(broker.url, options);
    nodeClients.push(client);
    return client;
  }

  it.each(versions)("delivers every QoS both ways (MQTT v%i)", async (protocolVersion) => {
    const topic = `browser/${protocolVersion}/${Date.now()}`;
    await startPageClient("page", { protocolVersion });
    await waitForPage("page", (s) => s.connected, "connect");
    expect(await call("subscribe", "page", `${topic}/to-page`, 2)).toEqual([2]);
    const node = await nodeClient({ protocolVersion });
    const fromPage = collect(node);
    await node.subscribe(`${topic}/from-page`, { qos: 2 });

    for (const qos of [0, 1, 2] as const) await node.publish(`${topic}/to-page`, `node→page qos${qos} ✓`, { qos });
    for (const qos of [0, 1, 2] as const) expect(await call("publish", "page", `${topic}/from-page`, `page→node qos${qos} ✓`, qos)).toBe("");

    const state = await waitForPage("page", (s) => s.received.length >= 3, "receive three messages");
    expect(state.received).toEqual([0, 1, 2].map((qos) => ({ topic: `${topic}/to-page`, payload: `node→page qos${qos} ✓`, qos, retain: false })));
    await waitFor(() => fromPage.length >= 3, "the Node client to receive three messages");
    expect(fromPage.map((m) => [m.payload, m.packet.qos])).toEqual([0, 1, 2].map((qos) => [`page→node qos${qos} ✓`, qos]));
    expect(state.errors).toEqual([]);
  });

  it("reconnects and resubscribes after the broker is killed and restarted, and sends what was published offline", async () => {
    const topic = `browser/restart/${Date.now()}`;
    await startPageClient("page", FAST_RECONNECT);
    await waitForPage("page", (s) => s.connected, "connect");
    await call("subscribe", "page", `${topic}/in`, 1);

    await broker.kill();
    await waitForPage("page", (s) => !s.connected && s.events.includes("offline"), "notice the outage");
    // Published while offline: QoS 0 waits in the offline queue (its promise resolves once
    // sent), QoS 1/2 in the store (theirs once stored). Retained, so that a subscriber that
    // arrives after the page reconnects still gets them.
    const offline = Promise.all([
      call("publish", "page", `${topic}/out/0`, "offline qos0", 0, true),
      call("publish", "page", `${topic}/out/1`, "offline qos1", 1, true),
      call("publish", "page", `${topic}/out/2`, "offline qos2", 2, true),
    ]);
    await waitForPage("page", (s) => s.queuedCount === 1 && s.outgoingCount === 2, "hold the three messages");

    await broker.restart();
    expect(await offline).toEqual(["", "", ""]);
    const state = await waitForPage("page", (s) => connects(s) >= 2 && s.outgoingCount === 0 && s.queuedCount === 0, "reconnect and send what it held", 20_000);
    expect(state.events).toContain("reconnect");

    const node = await nodeClient();
    const caughtUp = collect(node);
    await node.subscribe(`${topic}/out/+`, { qos: 2 });
    await waitFor(() => caughtUp.length >= 3, "the messages the page published offline");
    expect(caughtUp.map((m) => [m.topic, m.payload, m.packet.qos]).sort()).toEqual([0, 1, 2].map((qos) => [`${topic}/out/${qos}`, `offline qos${qos}`, qos]));

    // The restarted broker kept no session: the page subscribed again by itself.
    await node.publish(`${topic}/in`, "after the restart", { qos: 1 });
    await waitForPage("page", (s) => s.received.some((m) => m.payload === "after the restart"), "receive on its resubscription");
  }, 60_000);

  it("keeps QoS 1/2 messages in IndexedDB across a page reload and sends them on the next connection", async () => {
    const topic = `browser/idb/${Date.now()}`;
    const storeName = `edgews-test-${Date.now()}`;
    await broker.kill();
    await startPageClient("held", { storeName, reconnect: false, clientId: "held-1" });
    await waitForPage("held", (s) => s.events.includes("close"), "fail to connect");
    expect(await call("publish", "held", `${topic}/1`, "stored qos1", 1, true)).toBe("");
    expect(await call("publish", "held", `${topic}/2`, "stored qos2", 2, true)).toBe("");
    expect(await call("state", "held")).toMatchObject({ outgoingCount: 2 });
    // The page goes away with the client: nothing but IndexedDB is left.
    await openPage(browser!.page, site!.url);
    pageClients.splice(0);
    await broker.restart();

    await startPageClient("resumed", { storeName, clientId: "resumed-1" });
    await waitForPage("resumed", (s) => s.connected && s.outgoingCount === 0, "connect and send what the store held", 20_000);
    const node = await nodeClient();
    const arrived = collect(node);
    await node.subscribe(`${topic}/+`, { qos: 2 });
    await waitFor(() => arrived.length >= 2, "the stored messages");
    expect(arrived.map((m) => [m.topic, m.payload, m.packet.qos]).sort()).toEqual([
      [`${topic}/1`, "stored qos1", 1],
      [`${topic}/2`, "stored qos2", 2],
    ]);
  }, 60_000);
});

describe("IndexedDbStore in Chromium", () => {
  it("keeps first-insertion order, limits and byte counts, and its entries across a reopen; one client at a time", async () => {
    const name = `edgews-store-${Date.now()}`;
    const seen = await call("storeRoundTrip", name);
    expect(seen).toEqual({
      whileOpen: `IndexedDB message store: ${name} is in use by another client (in this tab or another of this origin); close it there first`,
      full: "StoreFullError",
      before: { list: ["b=4", "c=3"], size: 2, bytes: 4 },
      closed: "StoreClosedError",
      after: { list: ["b=4", "c=3"], size: 2, bytes: 4, got: "3" },
      durability: "process-crash",
    });
  });
});
