// Runs ws's own tests against edgews: `npm run test:ws-suite -- <path-to-a-ws-checkout>`.
//
// Works on copies in a temporary folder, never on the checkout or the project: builds edgews's
// dist/ there, copies the checkout (its node_modules linked, so run `npm install` in it first),
// puts shim.cjs in place of ws's index.js and stream-shim.cjs in place of lib/stream.js (ws's
// public exports: WebSocket, WebSocketServer, createWebSocketStream), and runs mocha on the
// three test files with reporter.cjs, which prints `N passed, M failed, K excluded (internals)`.
// It also lists what the shim maps or sets (compat.cjs): ws's private fields read through
// edgews's public equivalents ("mapped internals"), and the options it sets to ws's behaviour.
//
// usage: node scripts/ws-suite/run.mjs <ws-checkout> [--json FILE] [--keep]
//   --json FILE  also write each test's outcome to FILE
//   --keep       leave the temporary folder (its path is printed) to rerun a test by hand
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const TEST_FILES = ["test/websocket.test.js", "test/websocket-server.test.js", "test/create-websocket-stream.test.js"];

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { json: { type: "string" }, keep: { type: "boolean" } },
});
if (positionals.length !== 1) fail("usage: npm run test:ws-suite -- <path-to-a-ws-checkout> [--json FILE] [--keep]");
const checkout = resolve(positionals[0]);
for (const file of [...TEST_FILES, "node_modules/mocha/bin/mocha"]) {
  if (!existsSync(join(checkout, file))) fail(`${checkout} has no ${file}: is it a ws checkout, with \`npm install\` run in it?`);
}

const here = fileURLToPath(new URL(".", import.meta.url));
const root = resolve(here, "../..");
const exclusions = createRequire(import.meta.url)("./exclusions.cjs");
const compat = createRequire(import.meta.url)("./compat.cjs");
const work = mkdtempSync(join(tmpdir(), "edgews-ws-suite-"));
try {
  const edgews = join(work, "edgews");
  console.log(`building edgews into ${edgews}/dist`);
  execFileSync(process.execPath, [join(root, "scripts/build-dist.mjs"), "--outdir", join(edgews, "dist"), "--no-types"], { cwd: root, stdio: "inherit" });
  // dist/ finds its WASM at ../build and its dependencies in node_modules, as in the package.
  symlinkSync(join(root, "build"), join(edgews, "build"));
  symlinkSync(join(root, "node_modules"), join(edgews, "node_modules"));

  const ws = join(work, "ws");
  cpSync(checkout, ws, { recursive: true, filter: (src) => !src.startsWith(join(checkout, "node_modules")) && !src.startsWith(join(checkout, ".git")) });
  symlinkSync(join(checkout, "node_modules"), join(ws, "node_modules"));
  cpSync(join(here, "shim.cjs"), join(ws, "index.js"));
  cpSync(join(here, "stream-shim.cjs"), join(ws, "lib/stream.js"));
  cpSync(join(here, "compat.cjs"), join(ws, "edgews-compat.cjs"));
  for (const file of ["reporter.cjs", "exclusions.cjs"]) cpSync(join(here, file), join(ws, "test", file));

  console.log(`ws commit ${commitOf(checkout)}`);
  const env = { ...process.env, EDGEWS_DIST: join(edgews, "dist/index.js") };
  const outcomes = new Map();
  for (const file of TEST_FILES) runFile(ws, file, env, outcomes);
  printSummary(outcomes);
  if (args.json) writeFileSync(resolve(args.json), JSON.stringify(Object.fromEntries(outcomes), null, 1));
} finally {
  if (args.keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

/**
 * Runs one test file with mocha, recording each test's outcome. A test can end mocha's process
 * (ws's tests replace the 'uncaughtException' listener, and an assertion there is fatal): that
 * test is failed, and the file runs again with what is settled marked pending, until it ends.
 */
function runFile(ws, file, env, outcomes) {
  const log = join(ws, "outcomes.jsonl");
  const settled = [];
  for (;;) {
    writeFileSync(log, "");
    const mocha = spawnSync(process.execPath, [join(ws, "node_modules/mocha/bin/mocha"), "--exit", "--reporter", join(ws, "test/reporter.cjs"), file], {
      cwd: ws,
      stdio: ["ignore", "inherit", "pipe"],
      env: { ...env, EDGEWS_WS_LOG: log, EDGEWS_WS_SETTLED: JSON.stringify(settled) },
      encoding: "utf8",
      timeout: 15 * 60_000,
    });
    const entries = readFileSync(log, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));
    const tests = entries.find((e) => e.tests)?.tests ?? [];
    // The test that was running, or the last one to end (an error it left behind ended the process).
    let culprit;
    for (const { title, outcome, message } of entries.filter((e) => e.outcome)) {
      culprit = title;
      if (outcome !== "running") outcomes.set(title, { file, outcome, message }), settled.push(title);
    }
    if (entries.some((e) => e.end)) return markNotRun(tests, file, outcomes, "not run: a hook before it failed");
    const why = `ended mocha's process (exit ${mocha.status ?? mocha.signal}): ${lastLines(mocha.stderr)}`;
    if (culprit === undefined || outcomes.get(culprit)?.message === why) return markNotRun(tests, file, outcomes, why);
    outcomes.set(culprit, { file, outcome: "failed", message: why });
    if (!settled.includes(culprit)) settled.push(culprit);
    process.stdout.write("X");
  }
}

function markNotRun(tests, file, outcomes, why) {
  for (const title of tests) if (!outcomes.has(title)) outcomes.set(title, { file, outcome: "failed", message: why });
}

function printSummary(outcomes) {
  const count = (outcome) => [...outcomes.values()].filter((o) => o.outcome === outcome).length;
  console.log("\n\nFailures:");
  for (const [title, { file, outcome, message }] of outcomes) if (outcome === "failed") console.log(`  [${file}] ${title}\n      ${message}`);
  console.log("\nMapped internals (ws's private fields the shim reads through edgews's public equivalents):");
  for (const { describe } of compat.mappedInternals) console.log(`  ${describe}`);
  console.log("\nws's behaviour where edgews differs on purpose (options the shim sets on every WebSocketServer):");
  for (const { describe } of compat.serverDefaults) console.log(`  ${describe}`);
  console.log("\nExcluded (they inspect ws's private internals):");
  for (const { title, reason } of exclusions) console.log(`  ${title}\n      ${reason}`);
  const stale = exclusions.filter(({ title }) => outcomes.get(title)?.outcome !== "excluded");
  if (stale.length > 0) {
    console.log(`\nexclusions.cjs names ${stale.length} tests this checkout doesn't have:\n  ${stale.map((e) => e.title).join("\n  ")}`);
    process.exitCode = 1;
  }
  const skipped = count("skipped");
  const mapped = compat.mappedInternals.map(({ name }) => name).join(", ");
  console.log(`\n${count("passed")} passed, ${count("failed")} failed, ${count("excluded")} excluded (internals); mapped internals: ${mapped}${skipped ? `; ${skipped} skipped by ws's own conditions` : ""}`);
  if (count("failed") > 0) process.exitCode = 1;
}

function lastLines(text) {
  return (text ?? "").trim().split("\n").slice(-3).join(" | ").slice(0, 300);
}

function commitOf(dir) {
  try {
    return execFileSync("git", ["-C", dir, "rev-parse", "HEAD"], { encoding: "utf8" }).trim();
  } catch {
    return "unknown (not a git checkout)";
  }
}

function fail(message) {
  console.error(message);
  process.exit(2);
}
