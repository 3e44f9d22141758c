// npm's `prepare`: builds build/*.wasm and dist/ in a development checkout. An install that has
// no AssemblyScript compiler (`npm install --omit=dev`, a consumer's install from git) uses the
// dist/ and build/*.wasm it has and builds nothing: the package ships them.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const haveCompiler = existsSync(`${root}node_modules/assemblyscript/package.json`) && existsSync(`${root}node_modules/esbuild/package.json`);
const built = existsSync(`${root}dist/cli/main.js`) && existsSync(`${root}build/edgews-simd.wasm`) && existsSync(`${root}build/edgews-scalar.wasm`);

if (haveCompiler) {
  execFileSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
} else if (built) {
  console.log("edgews: no AssemblyScript compiler here (a production install): using the dist/ and build/*.wasm shipped");
} else {
  console.error("edgews: dist/ and build/*.wasm are missing and there is no compiler to build them: run `npm install` with the dev dependencies");
  process.exit(1);
}
