// The real peers some suites need and apt-get installs when missing (test/support/apt.ts), and
// EDGEWS_SKIP_PEERS, which leaves those suites out instead: a list of peer names
// ("chromium,python"). vitest.config.ts excludes every test file that imports, directly or through
// other files of the project, the support module that installs a skipped peer, and says so loudly
// before and after the run. CI never sets it (.ci/run refuses it).
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

export interface Peer {
  /** Debian packages that apt.ts installs for it. */
  readonly packages: readonly string[];
  /** The support module that installs it (relative to the project root): whoever imports it needs the peer. */
  readonly module: string;
}

export const PEERS = {
  chromium: { packages: ["chromium"], module: "test/support/chromium.ts" },
  python: { packages: ["python3-websockets"], module: "test/support/python.ts" },
  mosquitto: { packages: ["mosquitto", "mosquitto-clients"], module: "test/support/mosquitto.ts" },
  socat: { packages: ["socat"], module: "test/support/pty.ts" },
} satisfies Record<string, Peer>;

export type PeerName = keyof typeof PEERS;
const NAMES = Object.keys(PEERS) as PeerName[];

/** The peers EDGEWS_SKIP_PEERS names (in `value`); an unknown name is an error listing the known ones. */
export function skippedPeers(value = process.env.EDGEWS_SKIP_PEERS): PeerName[] {
  const names = (value ?? "").split(",").map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !(NAMES as string[]).includes(name));
  if (unknown.length > 0) throw new Error(`EDGEWS_SKIP_PEERS names ${unknown.join(", ")}: the peers are ${NAMES.join(", ")}`);
  return [...new Set(names)] as PeerName[];
}

/** The peer (among `among`) that `packages` belong to, if any. */
export function peerOf(packages: readonly string[], among: readonly PeerName[] = NAMES): PeerName | undefined {
  return among.find((name) => PEERS[name].packages.some((p) => packages.includes(p)));
}

const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g;

/** The project's own modules that `file` imports (relative specifiers, `.js` meaning the `.ts`). */
function localImports(file: string): string[] {
  const source = readFileSync(file, "utf8");
  return [...source.matchAll(IMPORT)].map((m) => resolve(dirname(file), m[1]!).replace(/\.js$/, ".ts")).filter((path) => path.endsWith(".ts"));
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : testFiles(path);
    return entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

/**
 * Each test file under `root`/test that needs one of `peers`, with the peers it needs: those whose
 * module it reaches through its imports.
 */
export function testFilesNeeding(peers: readonly PeerName[], root: string): Map<string, PeerName[]> {
  const modules = new Map(peers.map((name) => [resolve(root, PEERS[name].module), name]));
  const reached = new Map<string, Set<PeerName>>();
  const reach = (file: string): Set<PeerName> => {
    let found = reached.get(file);
    if (found) return found;
    found = new Set();
    reached.set(file, found);
    const own = modules.get(file);
    if (own) found.add(own);
    for (const imported of localImports(file)) {
      try {
        for (const peer of reach(imported)) found.add(peer);
      } catch {
        // Not a file of ours after all (a generated or missing module): it needs nothing.
      }
    }
    return found;
  };
  const needing = new Map<string, PeerName[]>();
  for (const file of testFiles(join(root, "test"))) {
    const found = [...reach(file)];
    if (found.length > 0) needing.set(relative(root, file), found);
  }
  return needing;
}

/** What a run with skipped peers says before and after: which files did not run, and why. */
export function skipNotice(needing: ReadonlyMap<string, readonly PeerName[]>, skipped: readonly PeerName[]): string {
  const files = [...needing].map(([file, peers]) => `  ${file} (${peers.join(", ")})`);
  return [
    `EDGEWS_SKIP_PEERS=${skipped.join(",")}: ${needing.size} test file(s) NOT RUN, neither passed nor failed:`,
    ...files,
  ].join("\n");
}
