// One memory measurement of the mqtt bench (bench/cases/mqtt.ts), in a fresh `node --expose-gc`
// process running plain JavaScript (no tsx): ours is the built package (dist/mqtt/index.js, what
// users run), theirs is MQTT.js. Records RSS after gc(), imports the library, then
//   idle:    connects to the broker at <url>, waits, and reports;
//   offline: connects to <url> where nothing listens (no reconnects), publishes 10,000 QoS 1
//            messages of 64 B, checks that the library holds all of them, and reports.
// Prints one JSON line {"before","after"} (RSS bytes) and "added" (memoryUsage() deltas) on stdout; anything wrong exits non-zero.
// usage: node --expose-gc bench/mqtt-rss-child.mjs <ours|theirs> <idle|offline> <url>
const [side, mode, url] = process.argv.slice(2);
const IDLE_WAIT_MS = 1000;
const OFFLINE_MESSAGES = 10_000;
const TIMEOUT_MS = 20_000;

const fail = (message) => {
  process.stderr.write(`mqtt-rss-child (${side} ${mode}): ${message}\n`);
  process.exit(1);
};
if (typeof globalThis.gc !== "function") fail("no gc(): run with node --expose-gc");
if (!["ours", "theirs"].includes(side) || !["idle", "offline"].includes(mode) || !url) fail("usage: <ours|theirs> <idle|offline> <url>");
setTimeout(() => fail(`not done in ${TIMEOUT_MS} ms`), TIMEOUT_MS).unref();

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** process.memoryUsage() after gc(). */
async function settled() {
  await sleep(50);
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage();
}

const before = await settled();
const lib = side === "ours" ? await import("../dist/mqtt/index.js") : (await import("mqtt")).default;
const options = { protocolVersion: 4, clientId: `rss-${side}-${process.pid}`, clean: true, keepalive: 60 };
const client = side === "ours" ? lib.connect(url, { ...options, reconnect: false }) : lib.connect(url, { ...options, reconnectPeriod: 0 });

if (mode === "idle") {
  await new Promise((resolve, reject) => {
    client.once("connect", resolve);
    client.on("error", reject);
    client.once("close", () => reject(new Error("connection closed before CONNACK")));
  }).catch((error) => fail(`could not connect to ${url}: ${error.message}`));
  client.on("close", () => fail("the idle connection closed"));
  await sleep(IDLE_WAIT_MS);
  if (!client.connected) fail("not connected after the wait");
} else {
  // The connection attempt must fail (nothing listens) before we publish; any other error is fatal.
  await new Promise((resolve) => {
    client.on("error", (error) => {
      if (error.code !== "ECONNREFUSED" && !/ECONNREFUSED/.test(error.message)) fail(`unexpected error: ${error.message}`);
    });
    client.once("close", resolve);
  });
  if (client.connected) fail(`connected to ${url}, which should have nothing listening`);
  const payload = Buffer.alloc(64, 0x61);
  const topic = `edgews-bench/offline/${side}`;
  const published = [];
  for (let i = 0; i < OFFLINE_MESSAGES; i++) {
    if (side === "ours") {
      // Resolves once stored (we are offline); rejects if the store refuses it.
      published.push(client.publish(topic, payload, { qos: 1 }));
    } else {
      // The callback would fire on PUBACK only: don't wait for it, but an error must not pass.
      client.publish(topic, payload, { qos: 1 }, (error) => error && fail(`publish failed: ${error.message}`));
    }
  }
  await Promise.all(published).catch((error) => fail(`publish failed: ${error.message}`));
  published.length = 0;
  await sleep(100);
  // Both must really hold every message (with its payload), not drop or refuse them.
  if (side === "ours") {
    // No store given: the client holds the messages itself, encoded.
    const held = client.outgoingCount;
    if (held !== OFFLINE_MESSAGES) fail(`holds ${held} outgoing messages; expected ${OFFLINE_MESSAGES}`);
    if (client.outgoingBytes < OFFLINE_MESSAGES * payload.length) fail(`holds ${client.outgoingBytes} bytes of messages, less than the payloads`);
  } else {
    const stored = client.outgoingStore?._inflights;
    if (!(stored instanceof Map)) fail("MQTT.js's outgoingStore has no _inflights Map (internals changed?)");
    const withPayload = [...stored.values()].filter((p) => p.qos === 1 && p.payload?.length === payload.length).length;
    const callbacks = Object.keys(client.outgoing).length;
    if (withPayload !== OFFLINE_MESSAGES || callbacks !== OFFLINE_MESSAGES || client._storeProcessingQueue.length !== 0) {
      fail(`holds ${withPayload} stored QoS 1 publishes, ${callbacks} outgoing callbacks, ${client._storeProcessingQueue.length} waiting; expected ${OFFLINE_MESSAGES}`);
    }
  }
}

const after = await settled();
// rss decides; the rest (bytes added) is for looking into a figure.
const added = Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]]));
process.stdout.write(JSON.stringify({ before: before.rss, after: after.rss, added }) + "\n");
process.exit(0);
