// edgews laid out as an installed package, in a temp dir: dist/ freshly bundled from the sources by
// scripts/build-dist.mjs, package.json copied (so its "exports" decide what `edgews/...` means),
// and links to the repo's build/ (the WASM) and node_modules/ (mqtt-packet).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
export const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface PackageLayout {
  /** The package's root, as node_modules/edgews would be. */
  readonly dir: string;
  remove(): Promise<void>;
}

/** Builds the layout; `types` adds the .d.ts declarations (tsc: tens of seconds on a busy machine). */
export async function buildPackageLayout(options: { types: boolean }): Promise<PackageLayout> {
  for (const wasm of ["edgews-simd.wasm", "edgews-scalar.wasm"]) {
    if (!existsSync(join(PROJECT_ROOT, "build", wasm))) throw new Error(`build/${wasm} is missing: run npm run build:wasm (npm install does)`);
  }
  const dir = await mkdtemp(join(tmpdir(), "edgews-package-"));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    await copyFile(join(PROJECT_ROOT, "package.json"), join(dir, "package.json"));
    await symlink(join(PROJECT_ROOT, "build"), join(dir, "build"));
    await symlink(join(PROJECT_ROOT, "node_modules"), join(dir, "node_modules"));
    const args = [join(PROJECT_ROOT, "scripts", "build-dist.mjs"), "--outdir", join(dir, "dist"), ...(options.types ? [] : ["--no-types"])];
    await run(process.execPath, args, { cwd: PROJECT_ROOT, timeout: 90_000 });
  } catch (error) {
    await remove();
    throw error;
  }
  return { dir, remove };
}
