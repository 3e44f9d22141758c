// The package as a consumer gets it: dist/ rebuilt, `npm pack`, the tarball installed with
// `npm install --omit=dev --ignore-scripts` into a scratch project (no AssemblyScript, no esbuild,
// no tsx there; no dependency's install script run, as npm 12 does for scripts the consumer has
// not approved: classic-level's and serialport's `node-gyp-build` only check for a prebuilt
// binary, which they load at run time anyway), then `edgews --help` through the bin (its
// shebang's `env -S`), an import of every entry point in package.json's "exports", and the
// installed `edgews gateway` serving /healthz (aedes, LevelDB and the WASM core all load).
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnTsx } from "../support/processes.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { name: string; exports: Record<string, unknown> };

let dir: string;
let tarball: string;
let installLog: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgews-install-"));
  await run(process.execPath, [join(ROOT, "scripts", "build-dist.mjs")], { cwd: ROOT, timeout: 180_000 });
  const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: ROOT, timeout: 120_000 });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(dir, packed!.filename);
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "scratch", version: "1.0.0", private: true, type: "module" }));
  const installed = await run("npm", ["install", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", tarball], { cwd: dir, timeout: 400_000 });
  installLog = installed.stdout + installed.stderr;
}, 600_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the packed package installed with --omit=dev", () => {
  it("ships dist/, the WASM, the LICENSE and no sources", async () => {
    const { stdout } = await run("tar", ["-tzf", tarball]);
    const files = stdout.split("\n");
    for (const file of ["package/LICENSE", "package/dist/cli/main.js", "package/dist/gateway/index.js", "package/build/edgews-simd.wasm", "package/build/edgews-scalar.wasm"]) expect(files).toContain(file);
    expect(files.filter((f) => /^package\/(src|test|assembly|bench)\//.test(f))).toEqual([]);
  });

  it("installs without building anything and runs `edgews --help`", async () => {
    expect(installLog).not.toMatch(/asc: not found|ERR!/);
    const { stdout } = await run(join(dir, "node_modules/.bin/edgews"), ["--help"], { cwd: dir });
    expect(stdout).toMatch(/^ {2}gateway\s/m);
    expect((await run(join(dir, "node_modules/.bin/edgews"), ["gateway", "--help"], { cwd: dir })).stdout).toContain("Usage: edgews gateway");
  });

  it("imports every entry point", async () => {
    const entries = Object.keys(pkg.exports).map((key) => (key === "." ? pkg.name : `${pkg.name}/${key.slice(2)}`));
    const script = `for (const entry of ${JSON.stringify(entries)}) { const m = await import(entry); console.log(entry, Object.keys(m).length); }`;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: dir, timeout: 30_000 });
    const counts = Object.fromEntries(stdout.trim().split("\n").map((line) => line.split(" ")));
    expect(Object.keys(counts).sort()).toEqual([...entries].sort());
    for (const entry of entries) expect(Number(counts[entry]), entry).toBeGreaterThan(0);
  });

  it("runs the installed gateway: /healthz answers ok, SIGTERM stops it cleanly", async () => {
    const child = await spawnTsx(join(dir, "node_modules/edgews/dist/cli/main.js"), ["gateway", "--http-port", "0", "--mqtt-port", "0", "--state-dir", join(dir, "state")], { cwd: dir, tsx: false });
    try {
      const [, url] = await child.waitForLine(/^ {2}health\s+(\S+)$/, 30_000);
      const response = await fetch(url!);
      expect(await response.json()).toEqual({ status: "ok", broker: "ok", bridge: "ok", store: "ok" });
    } finally {
      expect(await child.kill("SIGTERM", 10_000)).toEqual({ code: 0, signal: null });
    }
  }, 60_000);
});
