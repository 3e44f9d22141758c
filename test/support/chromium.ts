// Debian's Chromium for tests that need a real browser: installed from apt when missing (CI runs
// on a fresh machine as root), launched headless through playwright-core with a throw-away profile.
// A browser that can't be installed or started is an error, never a skipped test.
import { createHash, X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { aptInstall } from "./apt.js";

export const CHROMIUM = "/usr/bin/chromium";

// Verified on Debian 12 with Chromium 156 (see the project's peer recipes). The profile dir is
// given to launchPersistentContext: playwright refuses --user-data-dir in args.
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let installing: Promise<void> | undefined;

/** Makes sure /usr/bin/chromium exists, installing Debian's `chromium` with apt-get if it doesn't. */
export function ensureChromium(): Promise<void> {
  if (existsSync(CHROMIUM)) return Promise.resolve();
  installing ??= installChromium().finally(() => (installing = undefined));
  return installing;
}

async function installChromium(): Promise<void> {
  try {
    await aptInstall(["chromium"]);
  } catch (error) {
    throw new Error(`${CHROMIUM} is missing and ${(error as Error).message}`);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium but ${CHROMIUM} still does not exist`);
}

export interface ChromiumSession {
  context: BrowserContext;
  page: Page;
  /** e.g. "156.0.8078.108" */
  version: string;
  /** Closes the browser and deletes its profile. Safe to call twice. */
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** PEM certificates (a test peer's self-signed ones) that Chromium accepts for any host, and no others. */
  trustedCertificates?: readonly string[];
}

/** Chromium's pin of a certificate: the base64 SHA-256 of its public key (SubjectPublicKeyInfo). */
export function spkiHash(pem: string): string {
  const spki = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("base64");
}

// Honoured only with a user-data-dir, which the persistent context always has.
const trustArgs = (pems: readonly string[]) => (pems.length === 0 ? [] : [`--ignore-certificate-errors-spki-list=${pems.map(spkiHash).join(",")}`]);

/** Installs Chromium if needed and starts it headless with a fresh profile in a temp dir. */
export async function launchChromium(options: LaunchOptions = {}): Promise<ChromiumSession> {
  await ensureChromium();
  const userDataDir = mkdtempSync(join(tmpdir(), "edgews-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS, ...trustArgs(options.trustedCertificates ?? [])],
      timeout: 30_000,
    });
  } catch (error) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw new Error(`could not launch ${CHROMIUM}: ${(error as Error).message}`);
  }
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= context.close().finally(() => rmSync(userDataDir, { recursive: true, force: true })));
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    // The user agent says 156.0.0.0 (UA reduction); the browser's own version is the full one.
    const cdp = await context.newCDPSession(page);
    const { product } = (await cdp.send("Browser.getVersion")) as { product: string };
    await cdp.detach();
    const version = product.replace(/^[^/]*\//, "");
    return { context, page, version, close };
  } catch (error) {
    await close();
    throw error;
  }
}
