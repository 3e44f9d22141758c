// The built package as an app imports it: scripts/build-dist.mjs bundles the entry points into a
// temporary dist/ laid out as an installed package (test/support/package-layout.ts); a fresh node
// process then imports all three entries and uses them.
import { execFile } from "node:child_process";
import { chmod, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPackageLayout, type PackageLayout } from "../support/package-layout.js";

const run = promisify(execFile);

// Loads a core through the core entry's own WASM path, echoes over ws:// with the root entry,
// queues an offline QoS 1 publish with the mqtt entry, and reports what it saw, including
// whether Node's TLS stack got loaded: ws:// must not load it (it is ~0.7 MB of live heap,
// enough to make V8 double its young generation), so the client loads it on first use.
const SCRIPT = `
const core = await import("./dist/core/index.js");
const nodeCore = await import("./dist/core/node.js");
const root = await import("./dist/index.js");
const mqtt = await import("./dist/mqtt/index.js");
const loaded = await core.loadCore();
const server = new root.WebSocketServer({ port: 0, host: "127.0.0.1" });
await new Promise((resolve) => server.once("listening", resolve));
server.on("connection", (ws) => ws.on("message", (data, binary) => ws.send(data, { binary })));
const ws = new root.WebSocket("ws://127.0.0.1:" + server.address().port);
const echoed = await new Promise((resolve, reject) => {
  ws.onopen = () => ws.send("ping");
  ws.onmessage = (event) => resolve(event.data);
  ws.onerror = (event) => reject(event.error);
});
ws.close();
await server.close();
const client = mqtt.connect("ws://127.0.0.1:1", { reconnect: false });
client.on("error", () => {});
await new Promise((resolve) => client.once("close", resolve));
await client.publish("a/b", "held", { qos: 1 });
const misnamed = [core, root, mqtt].flatMap((entry) =>
  Object.entries(entry).filter(([name, value]) => typeof value === "function" && /^[A-Z]/.test(name) && value.name !== name).map(([name, value]) => name + " is named " + value.name));
const nodeModule = (name) => process.moduleLoadList.includes("NativeModule " + name);
console.log(JSON.stringify({
  flavour: loaded.flavour,
  echoed,
  held: client.outgoingCount,
  sameClasses: core.CoreError === root.CoreError && core.ProtocolError === root.ProtocolError && nodeCore.Core === core.Core,
  syncFlavour: nodeCore.loadCoreSync({ maxConnections: 1 }).flavour,
  misnamed,
  tlsLoaded: nodeModule("tls") || nodeModule("https"),
}));
await client.end();
`;

let layout: PackageLayout | undefined;

beforeAll(async () => {
  layout = await buildPackageLayout({ types: false });
}, 90_000);

afterAll(async () => {
  await layout?.remove();
});

describe("the bundled package", () => {
  it("loads the WASM core (in Node also synchronously), shares its classes across entries, keeps class names, works, and leaves TLS unloaded over ws://", async () => {
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", SCRIPT], { cwd: layout!.dir, timeout: 30_000 });
    const seen = JSON.parse(stdout);
    expect(["simd", "scalar"]).toContain(seen.flavour);
    expect(seen).toMatchObject({ echoed: "ping", held: 1, sameClasses: true, syncFlavour: seen.flavour, misnamed: [], tlsLoaded: false });
  });

  it("starts the edgews bin through its shebang, with node flags this node accepts", async () => {
    // Run as an installed bin is: executed, so that the kernel and env read the node flags
    // (node exits with "bad option" on a flag it does not know).
    const bin = join(layout!.dir, "dist", "cli", "main.js");
    expect((await readFile(bin, "utf8")).split("\n", 1)[0]).toMatch(/^#!\/usr\/bin\/env -S node --max-semi-space-size=1 /);
    await chmod(bin, 0o755);
    const { stdout } = await run(bin, ["--version"], { cwd: layout!.dir, timeout: 30_000 });
    expect(stdout.trim()).toBe(JSON.parse(await readFile(join(layout!.dir, "package.json"), "utf8")).version);
  });
});
