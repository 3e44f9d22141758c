// The README test's judge (harness.ts) on blocks made to fail: each failure is caught and named,
// and the blocks that should pass do.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Block } from "./blocks.js";
import { buildApp, runBlock, type App } from "./harness.js";
import { PROJECT_ROOT } from "../support/package-layout.js";

const block = (line: number, kind: Block["kind"], code: string, expected: RegExp[] = []): Block =>
  ({ line, language: kind === "shell" ? "sh" : "ts", kind, code, expect: expected });

const page = (line: number, code: string, expected: RegExp[] = []): Block => ({ ...block(line, "typescript", code, expected), browser: true });

const BLOCKS = {
  passes: block(10, "typescript", 'const n: number = 2;\nconsole.log("two is", n);', [/^two is 2$/m]),
  keepsRunning: block(20, "typescript", 'import { createServer } from "node:net";\ncreateServer().listen(0, "127.0.0.1", () => console.log("listening"));', [/listening/]),
  mistyped: block(30, "typescript", 'const n: number = 1;\nconst s: string = n;\nconsole.log(s);'),
  throws: block(40, "typescript", 'throw new Error("broken example");'),
  complains: block(50, "typescript", 'console.error("deprecated");'),
  silent: block(60, "typescript", "setInterval(() => {}, 1000);", [/never printed/]),
  shellFails: block(70, "shell", "echo before; false; echo after"),
  shellPasses: block(80, "shell", "echo from-shell >&2; echo done", [/^done$/m]),
  page: { ...block(90, "typescript", 'document.title = new URL(location.href).host;\nawait new Promise((resolve) => setTimeout(resolve, 50));\nconsole.log("title", document.title);'), browser: true as const, expect: [/^title 127\.0\.0\.1:\d+$/m] },
  pageInNode: block(100, "typescript", 'document.title = "x";'),
  diesLater: block(110, "typescript", 'console.log("up");\nsetTimeout(() => process.exit(3), 50);', [/up/]),
  pageThrows: page(120, 'await Promise.resolve();\nthrow new Error("broken page");'),
  pageComplains: page(130, 'console.error("deprecated in the page");'),
  pageRejects: page(140, 'void Promise.reject(new Error("nobody caught me"));\nawait new Promise((resolve) => setTimeout(resolve, 50));'),
  pageHangs: page(150, "await new Promise(() => {});"),
  pageSilent: page(160, 'console.log("something else");', [/never printed/]),
  pageNodeOnly: page(170, 'import { readFileSync } from "node:fs";\nconsole.log(readFileSync);'),
};

let dir: string;
let app: App;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgews-readme-harness-"));
  // No block imports edgews: the project root stands in for the package.
  app = await buildApp(join(dir, "app"), PROJECT_ROOT, Object.values(BLOCKS), (code) => code, "X.md");
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the README test's harness", () => {
  it("files each type error under its block, at its line in the Markdown file", () => {
    expect(app.diagnostics.get(30)).toEqual([expect.stringMatching(/^X\.md:32:7: error TS2322: Type 'number' is not assignable to type 'string'\.$/)]);
    for (const line of [10, 20, 40, 50, 60, 110, 120, 130, 140, 150, 160]) expect(app.diagnostics.get(line)).toEqual([]);
  });

  it("type-checks a page's block with the DOM's types, and a Node block without them", () => {
    expect(app.diagnostics.get(90)).toEqual([]);
    expect(app.diagnostics.get(100)).toEqual([expect.stringMatching(/^X\.md:101:1: error TS2584: Cannot find name 'document'/)]);
  });

  it("passes a block that exits 0 or keeps running once it printed what it must", async () => {
    expect(await runBlock(app, BLOCKS.passes, process.env)).toEqual({ stdout: "two is 2\n" });
    expect((await runBlock(app, BLOCKS.keepsRunning, process.env)).failure).toBeUndefined();
    expect((await runBlock(app, BLOCKS.shellPasses, process.env)).failure).toBeUndefined();
  });

  it("fails a block that throws, writes to stderr, exits non-zero (even after printing what it must) or never prints it", async () => {
    expect((await runBlock(app, BLOCKS.throws, process.env)).failure).toMatch(/^the ts block at line 40 exited with 1[\s\S]*broken example/);
    expect((await runBlock(app, BLOCKS.complains, process.env)).failure).toMatch(/^the ts block at line 50 wrote to stderr[\s\S]*deprecated/);
    expect((await runBlock(app, BLOCKS.shellFails, process.env)).failure).toMatch(/^the sh block at line 70 exited with 1\n--- stdout\nbefore\n--- stderr\n$/);
    expect((await runBlock(app, BLOCKS.diesLater, process.env)).failure).toMatch(/^the ts block at line 110 exited with 3/);
    expect((await runBlock(app, BLOCKS.silent, process.env, 1000)).failure).toMatch(/^the ts block at line 60 neither finished nor printed \/never printed\/ within 1000 ms/);
  });

  it("runs a page's block in Chromium: it passes once its top level settled and its console printed what it must", async () => {
    const result = await runBlock(app, BLOCKS.page, process.env);
    expect(result.failure).toBeUndefined();
    expect(result.stdout).toMatch(/^title 127\.0\.0\.1:\d+\n$/);
  });

  it("fails a page's block that throws, logs an error, leaves a rejection unhandled, never settles or never prints what it must", async () => {
    expect((await runBlock(app, BLOCKS.pageThrows, process.env)).failure).toMatch(/^the ts block at line 120 failed in Chromium: the page could not import its app: Error: broken page/);
    expect((await runBlock(app, BLOCKS.pageComplains, process.env)).failure).toMatch(/^the ts block at line 130 failed in Chromium\n[\s\S]*console\.error: deprecated in the page/);
    expect((await runBlock(app, BLOCKS.pageRejects, process.env)).failure).toMatch(/^the ts block at line 140 failed in Chromium\n[\s\S]*uncaught: Error: nobody caught me/);
    expect((await runBlock(app, BLOCKS.pageHangs, process.env, 1000)).failure).toMatch(/^the ts block at line 150 neither finished nor printed anything asked within 1000 ms/);
    expect((await runBlock(app, BLOCKS.pageSilent, process.env, 1000)).failure).toMatch(/^the ts block at line 160 neither finished nor printed \/never printed\/ within 1000 ms\n--- console\nsomething else\n/);
  }, 60_000);

  it("fails a page's block that needs Node's modules, which no browser has", async () => {
    expect((await runBlock(app, BLOCKS.pageNodeOnly, process.env)).failure).toMatch(/^the ts block at line 170 could not be bundled for the browser: [\s\S]*Could not resolve "node:fs"/);
  });
});
