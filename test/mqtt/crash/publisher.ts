// A gateway process for client-crash.test.ts, killed with SIGKILL and started again on the same
// FileStore. It numbers messages `from` .. `total - 1`, keeps `window` publishes pending, and
// prints `issued N` before handing N to publish() (printSync: the line is in the pipe before a
// SIGKILL can land) and `accepted N` only after publish() resolved. After the
// last one it publishes `end` at the same QoS, ends the client gracefully and prints `done`.
// Usage: publisher.ts <url> <storePath> <clientId> <topic> <qos 1|2> <protocolVersion 4|5> <from> <total>
import { connect } from "../../../src/mqtt/index.js";
import { FileStore } from "../../../src/mqtt/store/index.js";
import { printSync } from "../../support/print-sync.js";

const [url, storePath, clientId, topic, qosText, versionText, fromText, totalText] = process.argv.slice(2);
const qos = Number(qosText) as 1 | 2;
const protocolVersion = Number(versionText) as 4 | 5;
const total = Number(totalText);
const window = 64;

const store = await FileStore.open(storePath!, { fsync: "always" });
// What the killed process left behind, resent (DUP) or completed (PUBREL) on the first connect.
console.log(`loaded ${store.size}`);
const client = connect(url!, {
  protocolVersion,
  clientId,
  clean: false,
  store,
  maxInflight: 32,
  reconnect: { initialDelay: 50, maxDelay: 200 },
  ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 600 } } : {}),
});
client.on("error", (error) => console.error(`error ${error.message}`));
client.on("connect", () => console.log("connected"));
// Mid-stream means on the wire: start once connected (publishes made before resolve once stored).
await new Promise<void>((resolve) => client.once("connect", () => resolve()));

let pending = 0;
let wake: (() => void) | undefined;
for (let n = Number(fromText); n < total; n++) {
  while (pending >= window) await new Promise<void>((resolve) => (wake = resolve));
  pending++;
  printSync(`issued ${n}`);
  client.publish(topic!, String(n), { qos }).then(
    () => printSync(`accepted ${n}`),
    (error: Error) => console.log(`failed ${n} ${error.message}`),
  ).finally(() => {
    pending--;
    wake?.();
  });
}
while (pending > 0) await new Promise<void>((resolve) => (wake = resolve));
// Resent messages resolve nobody's promise: wait for the store to hold none before the last one.
while (client.outgoingCount > 0) await new Promise((resolve) => setTimeout(resolve, 10));
await client.publish(topic!, "end", { qos });
await client.end();
console.log(`done left=${store.size}`);
await store.close();
