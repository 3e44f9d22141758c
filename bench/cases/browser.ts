// What a web app pays to speak MQTT: the bundle of an app that connects, subscribes and
// publishes, built by esbuild for the browser (minified, no flags, no externals) once with
// edgews/mqtt (from the built package, through its "browser" export) and once with MQTT.js the
// same way, in the same run. Sizes are exact (no timing): one build each, KiB.
import { fileURLToPath } from "node:url";
import { bundleForBrowser, installPackage, type BrowserBundle } from "../../test/support/browser-bundle.js";
import type { Comparison } from "../measure.js";
import type { BenchSpec, CaseSpec } from "../types.js";

/** The same app against both libraries' APIs (MQTT.js's connect/subscribe/publish are the shape ours copies). */
const app = (importLine: string, connect: string) => `${importLine}
const client = ${connect}("ws://" + location.host + "/mqtt", { protocolVersion: 4 });
client.on("message", (topic, payload) => document.body.append(topic + " " + payload + "\\n"));
client.on("connect", () => {
  client.subscribe("sensors/#", { qos: 1 });
  client.publish("sensors/page", "hello", { qos: 1 });
});
`;

const OURS = app(`import { connect } from "edgews/mqtt";`, "connect");
const THEIRS = app(`import mqtt from "mqtt";`, "mqtt.connect");
const KIB = 1024;
/** Where MQTT.js is installed (a devDependency of ours). */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

let bundles: Promise<{ ours: BrowserBundle; theirs: BrowserBundle }> | undefined;

/** Both apps, bundled once per bench child. */
function bothBundles(): Promise<{ ours: BrowserBundle; theirs: BrowserBundle }> {
  bundles ??= (async () => {
    const installed = await installPackage();
    try {
      const [ours, theirs] = await Promise.all([bundleForBrowser(OURS, installed.dir), bundleForBrowser(THEIRS, ROOT)]);
      if (ours.nodeOnly.length > 0) throw new Error(`the edgews app bundle has Node built-ins or polyfills: ${ours.nodeOnly.join(", ")}`);
      return { ours, theirs };
    } finally {
      await installed.remove();
    }
  })();
  return bundles;
}

const sizeCase = (name: string, pick: (bundle: BrowserBundle) => number): CaseSpec => ({
  name,
  baselines: ["mqtt"],
  unit: "KiB",
  measure: async (): Promise<Comparison> => {
    const { ours, theirs } = await bothBundles();
    const [a, b] = [pick(ours) / KIB, pick(theirs) / KIB];
    return { ours: a, theirs: b, ratio: { median: a / b, p25: a / b, p75: a / b }, repeats: 1 };
  },
});

export const browser: BenchSpec = {
  name: "browser",
  unit: "KiB",
  divisor: 1,
  header: "An app that connects, subscribes and publishes, bundled by esbuild for the browser (minified), edgews/mqtt vs MQTT.js; KiB, LOWER is better (ratio < 1: ours smaller)",
  cases: [sizeCase("bundle-gzip", (b) => b.gzipBytes), sizeCase("bundle-min", (b) => b.minBytes)],
  summary: () => [
    "esbuild platform=browser, format esm, minify, no externals; gzip level 9. Ours from the built package (scripts/build-dist.mjs: dist/browser/mqtt.js, mqtt-packet inside with our Buffer and EventEmitter shims); theirs from node_modules/mqtt as its package.json offers it to a browser bundler.",
  ],
};
