// Checks a Markdown file's code blocks as a new user would try them: TypeScript and JavaScript
// blocks become the modules of a scratch app that depends on edgews (a package layout, see
// test/support/package-layout.ts), type-checked together by tsc with `tsc --init`'s strict
// settings and no DOM types (a Node app's), then each is run by node; blocks marked `browser` are
// type-checked as a page's code instead (DOM types, the package's "browser" conditions), bundled
// for the browser and run in headless Chromium; shell blocks run in bash from the project root;
// JSON blocks must parse. Blocks marked `skip (reason)` are not run.
import { execFile, spawn } from "node:child_process";
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Page } from "playwright-core";
import type { Block } from "./blocks.js";
import { bundleForBrowser, type BrowserBundle } from "../support/browser-bundle.js";
import { launchChromium } from "../support/chromium.js";
import { openPage, servePage } from "../support/page-server.js";
import { killOnExit, killOnParentDeath, signal } from "../support/processes.js";
import { PROJECT_ROOT } from "../support/package-layout.js";

const execFileAsync = promisify(execFile);
const TSC = join(PROJECT_ROOT, "node_modules", "typescript", "bin", "tsc");

/** `tsc --init`'s checks (TypeScript 5.9): what a newcomer's editor reports. */
const CHECKS = {
  target: "es2022",
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  verbatimModuleSyntax: true,
  isolatedModules: true,
  noUncheckedSideEffectImports: true,
  moduleDetection: "force",
  skipLibCheck: true,
  allowJs: true,
  checkJs: true,
};

/** The app's two projects: Node code in src/ (compiled to out/ and run), a page's code in page/. */
const PROJECTS = {
  src: { file: "tsconfig.json", config: { compilerOptions: { ...CHECKS, module: "nodenext", lib: ["es2022"], types: ["node"], rootDir: "src", outDir: "out" }, include: ["src"] } },
  // As a bundler resolves it for a browser: the package's "browser" conditions, the DOM's types.
  page: {
    file: "tsconfig.page.json",
    config: { compilerOptions: { ...CHECKS, module: "esnext", moduleResolution: "bundler", customConditions: ["browser"], lib: ["es2022", "dom", "dom.iterable"], types: [], noEmit: true }, include: ["page"] },
  },
};

/** How long a block may take, by default, to finish or to print what it must (it may start servers and clients). */
const RUN_TIMEOUT_MS = 20_000;
/** After a long-running block printed what it must, late errors still count for this long. */
const SETTLE_MS = 300;

/** A scratch app whose modules are the blocks. */
export interface App {
  readonly dir: string;
  /** tsc's diagnostics for each block, by its line in the Markdown file. */
  readonly diagnostics: ReadonlyMap<number, string[]>;
}

const projectOf = (block: Block): keyof typeof PROJECTS => (block.browser ? "page" : "src");
const moduleName = (block: Block) => `block-${block.line}.${block.kind === "javascript" ? "js" : "ts"}`;
const isModule = (block: Block) => block.kind === "typescript" || block.kind === "javascript";

/**
 * Writes the app into `dir` (node_modules/edgews pointing at `packageDir`), with each block's code
 * passed through `rewrite` first, compiles it, and returns tsc's diagnostics per block, naming
 * `fileName` and the line in it.
 */
export async function buildApp(dir: string, packageDir: string, blocks: readonly Block[], rewrite: (code: string) => string, fileName: string): Promise<App> {
  await mkdir(join(dir, "node_modules"), { recursive: true });
  await symlink(packageDir, join(dir, "node_modules", "edgews"));
  await symlink(join(PROJECT_ROOT, "node_modules", "@types"), join(dir, "node_modules", "@types"));
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "readme-app", private: true, type: "module" }));
  await writeFile(join(dir, "run-block.mjs"), RUNNER);
  const modules = blocks.filter(isModule);
  const diagnostics = new Map<number, string[]>(modules.map((block) => [block.line, []]));
  await Promise.all(Object.entries(PROJECTS).map(async ([folder, { file, config }]) => {
    const mine = modules.filter((block) => projectOf(block) === folder);
    if (mine.length === 0) return;
    await mkdir(join(dir, folder), { recursive: true });
    await writeFile(join(dir, file), JSON.stringify(config, null, 2));
    // Each block is a module of its own: `export {}` keeps a block without imports from sharing scope.
    await Promise.all(mine.map((block) => writeFile(join(dir, folder, moduleName(block)), `${rewrite(block.code)}\nexport {};\n`)));
    const output = await execFileAsync(process.execPath, [TSC, "-p", file, "--pretty", "false"], { cwd: dir, timeout: 120_000 })
      .then(() => "", (error: { stdout?: string; message: string }) => error.stdout || error.message);
    assignDiagnostics(output, mine, diagnostics, fileName);
  }));
  return { dir, diagnostics };
}

/**
 * Files tsc's diagnostics under their blocks, each block's position turned into the Markdown
 * file's line; indented lines continue the diagnostic above them.
 */
function assignDiagnostics(output: string, modules: readonly Block[], into: Map<number, string[]>, fileName: string): void {
  const ofTheseBlocks = modules.map((block) => into.get(block.line)!);
  let current: string[] | undefined;
  for (const line of output.split("\n").filter(Boolean)) {
    if (/^\s/.test(line) && current) {
      current.push(line);
      continue;
    }
    const match = /^(?:src|page)\/block-(\d+)\.[jt]s\((\d+),(\d+)\): (.*)$/.exec(line);
    const block = match ? modules.find((b) => b.line === Number(match[1])) : undefined;
    if (!match || !block) {
      // Not about one block (a broken tsconfig, a missing package): every block hears of it.
      for (const list of ofTheseBlocks) list.push(line);
      current = undefined;
      continue;
    }
    current = into.get(block.line)!;
    current.push(`${fileName}:${block.line + Number(match[2])}:${match[3]}: ${match[4]}`);
  }
}

// Imports one compiled block; tells the parent (over IPC) once its top level has run, so that a
// block that starts a server and keeps running can be judged. The channel must not keep it alive.
const RUNNER = `process.channel?.unref();
await import(process.argv[2]);
process.send?.("evaluated");
`;

export interface RunResult {
  /** Why the block failed; undefined when it passed. */
  readonly failure?: string;
  readonly stdout: string;
}

/**
 * Runs a compiled TypeScript/JavaScript block with node, or a shell block with bash in the project
 * root. It passes when it exits 0, or keeps running once its top level has run, and either way
 * wrote nothing on stderr and printed what its `expect` patterns ask for.
 */
export async function runBlock(app: App, block: Block, env: NodeJS.ProcessEnv, timeoutMs = RUN_TIMEOUT_MS): Promise<RunResult> {
  if (block.browser) return runInPage(app, block, env, timeoutMs);
  const child = block.kind === "shell"
    ? spawn("bash", ["-e", "-o", "pipefail", "-c", block.code], { cwd: PROJECT_ROOT, env, stdio: ["ignore", "pipe", "pipe"] })
    : spawn(process.execPath, ["run-block.mjs", `./out/${moduleName(block).replace(/\.ts$/, ".js")}`], { cwd: app.dir, env, stdio: ["ignore", "pipe", "pipe", "ipc"] });
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, name) => resolve(code ?? name ?? "?")));
  killOnExit(child, exited);
  if (child.pid !== undefined) void exited.then(killOnParentDeath(child.pid, block.kind === "shell" ? "bash" : "node"));
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const evaluated = new Promise<"evaluated">((resolve) => child.once("message", () => resolve("evaluated")));
  const printed = () => block.expect.every((pattern) => pattern.test(stdout));
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    exited,
    evaluated.then(() => until(printed, exited)),
    new Promise<"timeout">((resolve) => (timer = setTimeout(resolve, timeoutMs, "timeout"))),
  ]);
  clearTimeout(timer);
  if (outcome === "evaluated") await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const stillRunning = child.exitCode === null && child.signalCode === null;
  if (stillRunning && child.pid !== undefined) signal(child.pid, "SIGKILL");
  const exit = await exited;
  const output = `\n--- stdout\n${stdout}--- stderr\n${stderr}`;
  const what = describeBlock(block);
  if (outcome === "timeout") return { stdout, failure: timedOut(block, timeoutMs, output) };
  if (!stillRunning && exit !== 0) return { stdout, failure: `${what} exited with ${exit}${output}` };
  if (block.kind !== "shell" && stderr !== "") return { stdout, failure: `${what} wrote to stderr${output}` };
  return expectPrinted(block, stdout, output);
}

const describeBlock = (block: Block) => `the ${block.language} block at line ${block.line}`;
const timedOut = (block: Block, timeoutMs: number, output: string) =>
  `${describeBlock(block)} neither finished nor printed ${block.expect.join(", ") || "anything asked"} within ${timeoutMs} ms${output}`;

/** Passes when `stdout` matches every `expect` pattern of the block. */
function expectPrinted(block: Block, stdout: string, output: string): RunResult {
  const missing = block.expect.filter((pattern) => !pattern.test(stdout));
  if (missing.length > 0) return { stdout, failure: `${describeBlock(block)} did not print ${missing.join(", ")}${output}` };
  return { stdout };
}

/**
 * Runs a page's block in headless Chromium as an app ships it: bundled by esbuild for the browser
 * from the scratch app (node_modules/edgews, the "browser" conditions) and served on 127.0.0.1.
 * Its console is its output; console.error, an uncaught error or unhandled rejection, or a top
 * level that does not settle in time fails it. Chromium trusts the certificates Node blocks are
 * given in `env` (NODE_EXTRA_CA_CERTS), pinned by their public keys, and no others.
 */
async function runInPage(app: App, block: Block, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<RunResult> {
  const what = describeBlock(block);
  let bundle: BrowserBundle;
  try {
    bundle = await bundleForBrowser(`import ${JSON.stringify(`./page/${moduleName(block)}`)};`, app.dir);
  } catch (error) {
    return { stdout: "", failure: `${what} could not be bundled for the browser: ${(error as Error).message}` };
  }
  if (bundle.nodeOnly.length > 0) return { stdout: "", failure: `${what} bundles Node-only modules for the browser: ${bundle.nodeOnly.join(", ")}` };
  const trustedCertificates = env.NODE_EXTRA_CA_CERTS ? (await readFile(env.NODE_EXTRA_CA_CERTS, "utf8")).match(PEM_CERTIFICATE) ?? [] : [];
  const site = await servePage(bundle.js);
  const browser = await launchChromium({ trustedCertificates }).catch(async (error: unknown) => {
    await site.close();
    throw error;
  });
  try {
    return await judgePage(browser.page, site.url, block, timeoutMs);
  } finally {
    await browser.close();
    await site.close();
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Opens the block's page and judges it: it fails at its first error, and passes once its top
 * level settled and its console printed what it must, with no error for SETTLE_MS after.
 */
async function judgePage(page: Page, url: string, block: Block, timeoutMs: number): Promise<RunResult> {
  let stdout = "";
  const errors: string[] = [];
  let erred!: () => void;
  const firstError = new Promise<"error">((resolve) => (erred = () => resolve("error")));
  const fail = (text: string) => {
    errors.push(text);
    erred();
  };
  page.on("console", (message) => {
    if (message.type() === "error") fail(`console.error: ${message.text()}`);
    else stdout += `${message.text()}\n`;
  });
  page.on("pageerror", (error) => fail(`uncaught: ${error.stack ?? error.message}`));
  const output = () => `\n--- console\n${stdout}--- errors\n${errors.join("\n")}`;
  let judged = false;
  const printed = async () => {
    while (!judged && !block.expect.every((pattern) => pattern.test(stdout))) await new Promise((resolve) => setTimeout(resolve, 20));
    return "printed" as const;
  };
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    openPage(page, url, timeoutMs).then(printed, (error: Error) => error),
    firstError,
    new Promise<"timeout">((resolve) => (timer = setTimeout(resolve, timeoutMs, "timeout"))),
  ]);
  judged = true;
  clearTimeout(timer);
  if (outcome === "printed") await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  if (outcome === "timeout") return { stdout, failure: timedOut(block, timeoutMs, output()) };
  if (outcome instanceof Error) return { stdout, failure: `${describeBlock(block)} failed in Chromium: ${outcome.message}${output()}` };
  if (errors.length > 0) return { stdout, failure: `${describeBlock(block)} failed in Chromium${output()}` };
  return expectPrinted(block, stdout, output());
}

/** Resolves "evaluated" once `ready()` holds (polled), or with the exit if the process ends first. */
async function until(ready: () => boolean, exited: Promise<number | string>): Promise<"evaluated" | number | string> {
  let exit: number | string | undefined;
  void exited.then((value) => (exit = value));
  while (!ready()) {
    if (exit !== undefined) return exit;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return "evaluated";
}
