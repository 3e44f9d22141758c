// The package as a web app gets it: the built package (test/support/package-layout.ts) as
// node_modules/edgews of a scratch app, which esbuild bundles for the browser with no flags and
// no externals, resolving `edgews/mqtt` through package.json's "exports" as a user's bundler would.
import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build, type Metafile, type Plugin } from "esbuild";
// @ts-expect-error: a plain .mjs script without declarations
import { NODE_ONLY } from "../../scripts/browser-build.mjs";
import { buildPackageLayout } from "./package-layout.js";

export interface InstalledPackage {
  /** A folder whose node_modules/edgews is the built package. */
  dir: string;
  remove(): Promise<void>;
}

/** Builds the package and a scratch app folder that depends on it. */
export async function installPackage(): Promise<InstalledPackage> {
  const layout = await buildPackageLayout({ types: false });
  const dir = await mkdtemp(join(tmpdir(), "edgews-browser-app-"));
  const remove = async () => {
    await rm(dir, { recursive: true, force: true });
    await layout.remove();
  };
  try {
    await mkdir(join(dir, "node_modules"));
    await symlink(layout.dir, join(dir, "node_modules", "edgews"));
  } catch (error) {
    await remove();
    throw error;
  }
  return { dir, remove };
}

export interface BrowserBundle {
  js: string;
  minBytes: number;
  gzipBytes: number;
  /** Every file esbuild read, relative to the folder it bundled from. */
  inputs: string[];
  /** Imports of Node built-ins (or their npm polyfills) left in the output, or resolved into it. */
  nodeOnly: string[];
}

/**
 * Bundles `source` (an ES module) for the browser from `dir`: esbuild's defaults for
 * platform=browser (the "browser" export condition), minified, no externals. `plugins` may
 * redirect imports (a test page written against src/ gets the package).
 */
export async function bundleForBrowser(source: string, dir: string, plugins: Plugin[] = []): Promise<BrowserBundle> {
  const result = await build({
    plugins,
    stdin: { contents: source, resolveDir: dir, sourcefile: "app.js", loader: "js" },
    absWorkingDir: dir,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const js = result.outputFiles[0]!.text;
  const inputs = Object.keys(result.metafile.inputs);
  return { js, minBytes: Buffer.byteLength(js), gzipBytes: gzipSync(js, { level: 9 }).length, inputs, nodeOnly: nodeOnlyIn(result.metafile) };
}

/** Node built-ins imported by the output, and npm polyfills of them among the inputs. */
export function nodeOnlyIn(metafile: Metafile): string[] {
  const imported = Object.values(metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
  const polyfills = Object.keys(metafile.inputs).flatMap((file) => {
    const name = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1];
    return name !== undefined && NODE_ONLY.test(name) ? [file] : [];
  });
  return [...imported.filter((path) => NODE_ONLY.test(path)), ...polyfills];
}

/** esbuild plugin: imports of `file` (a path ending) resolve as `specifier` would from `dir`. */
export function importAs(file: string, specifier: string, dir: string): Plugin {
  return {
    name: "import-as",
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (!args.path.endsWith(file) || args.pluginData === "import-as") return undefined;
        return build.resolve(specifier, { kind: args.kind, resolveDir: dir, pluginData: "import-as" });
      });
    },
  };
}
