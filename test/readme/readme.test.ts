// Every code block of README.md, tried as a new user would (see harness.ts): TypeScript is
// type-checked with `tsc --init`'s strict settings against the built package, imported as
// `edgews`, `edgews/core`, ..., and run; shell blocks run unless marked
// `<!-- readme-test: skip (why) -->`; `<!-- readme-test: expect /pattern/ -->` says what a block
// must print; `<!-- readme-test: browser -->` marks a page's code (type-checked with the DOM's
// types as a bundler resolves the package for browsers, bundled for the browser and run in
// headless Chromium, its console being its output). The places the README points at (a broker, a state directory, a port) get real
// stand-ins started here: see STAND_INS. A block added later is picked up with no change here.
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extractBlocks, type Block } from "./blocks.js";
import { buildApp, runBlock, type App } from "./harness.js";
import { freePorts, startMosquitto } from "../support/mosquitto.js";
import { buildPackageLayout, PROJECT_ROOT, type PackageLayout } from "../support/package-layout.js";

const { blocks, problems } = extractBlocks(readFileSync(join(PROJECT_ROOT, "README.md"), "utf8"), "README.md");

interface Started {
  /** What replaces the README's text. */
  text: string;
  env?: Record<string, string>;
  stop?(): Promise<void>;
}

/** Something the README's examples point at, and the real thing this test puts in its place. */
interface StandIn {
  /** The README's text for it (global: every occurrence is replaced). */
  pattern: RegExp;
  start(scratch: string): Promise<Started>;
}

const STAND_INS: StandIn[] = [
  {
    // The MQTT example's broker: Mosquitto with a WebSocket listener over TLS, its certificate
    // trusted through NODE_EXTRA_CA_CERTS as an operator would (and pinned in Chromium from
    // there for a page's block); it takes any credentials.
    pattern: /wss:\/\/broker\.example:8884/g,
    async start(scratch) {
      const broker = await startMosquitto({ tls: true });
      const caFile = join(scratch, "broker-ca.pem");
      await writeFile(caFile, broker.ca!);
      return { text: `wss://127.0.0.1:${broker.wssPort}`, env: { MQTT_PASSWORD: "readme", NODE_EXTRA_CA_CERTS: caFile }, stop: () => broker.dispose() };
    },
  },
  // State directories: under the scratch directory, not created beforehand (as on a fresh machine).
  { pattern: /\/var\/lib\//g, start: async (scratch) => ({ text: `${join(scratch, "var", "lib")}/` }) },
  { pattern: /\b8080\b/g, start: async () => ({ text: String((await freePorts(1))[0]) }) },
];

let scratch: string | undefined;
let layout: PackageLayout | undefined;
let app: App | undefined;
const started: Array<Started & { pattern: RegExp }> = [];
const env: NodeJS.ProcessEnv = { ...process.env };

const rewrite = (code: string) => started.reduce((text, s) => text.replace(s.pattern, s.text), code);

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "edgews-readme-"));
  const code = blocks.map((b) => b.code).join("\n");
  for (const standIn of STAND_INS.filter((s) => code.search(s.pattern) >= 0)) {
    const result = await standIn.start(scratch);
    started.push({ ...result, pattern: standIn.pattern });
    Object.assign(env, result.env);
  }
  layout = await buildPackageLayout({ types: true });
  app = await buildApp(join(scratch, "app"), layout.dir, blocks, rewrite, "README.md");
}, 180_000);

afterAll(async () => {
  for (const s of started) await s.stop?.();
  await layout?.remove();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const title = (block: Block) => `README.md:${block.line} (${block.language})`;

describe("README.md", () => {
  it("has a language on every code block and well-formed readme-test directives", () => {
    expect(problems).toEqual([]);
    expect(blocks.some((b) => b.kind === "typescript")).toBe(true);
  });

  for (const block of blocks.filter((b) => b.kind === "typescript" || b.kind === "javascript")) {
    it(`${title(block)} type-checks`, () => {
      expect(app!.diagnostics.get(block.line)).toEqual([]);
    });
  }

  for (const block of blocks.filter((b) => b.kind === "json")) {
    it(`${title(block)} parses`, () => {
      expect(() => JSON.parse(block.code)).not.toThrow();
    });
  }

  for (const block of blocks.filter((b) => b.kind !== "prose" && b.kind !== "json")) {
    const test = block.skip === undefined ? it : it.skip;
    const where = block.browser ? " in Chromium" : "";
    test(`${title(block)} runs${where}${block.skip === undefined ? "" : `: not run, ${block.skip}`}`, async () => {
      const { failure } = await runBlock(app!, { ...block, code: rewrite(block.code) }, env);
      expect(failure).toBeUndefined();
    });
  }
});
