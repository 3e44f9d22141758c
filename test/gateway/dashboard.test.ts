// The dashboard as `edgews gateway --demo` serves it, in a real headless Chromium: the page comes
// from the gateway's HTTP server, connects to the embedded broker at the same host's /mqtt (the
// demo's anonymous dashboard role), shows the simulated devices online, and a click switches the
// relay through the bridge; /metrics counts the page's WebSocket connection.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../../examples/dashboard/build.mjs";
import { launchChromium, type ChromiumSession } from "../support/chromium.js";
import { metricValue, scrape, scratchDir, startGatewayProcess, type GatewayProcess } from "../support/gateway.js";
import { ensureSocat } from "../support/pty.js";

let scratch: ReturnType<typeof scratchDir>;
let gateway: GatewayProcess;
let browser: ChromiumSession;

beforeAll(async () => {
  await ensureSocat();
  scratch = scratchDir();
  await buildDashboard(join(scratch.dir, "site"));
  const config = join(scratch.dir, "gateway.json");
  writeFileSync(config, JSON.stringify({ dashboard: join(scratch.dir, "site"), log: { level: "warn" } }));
  gateway = await startGatewayProcess(["--demo", "--devices", "2", "--rate", "5", "--config", config, "--state-dir", join(scratch.dir, "state")]);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  scratch?.remove();
});

describe("edgews gateway --demo's dashboard in Chromium", () => {
  it("announces the dashboard, which shows the devices and switches the relay", async () => {
    const announced = gateway.child.lines.find((line) => line.startsWith("  dashboard"));
    const url = gateway.httpUrl;
    expect(announced).toBe(`  dashboard  ${url}   <- open this`);
    const { page } = browser;
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    await page.goto(url);
    for (const id of gateway.devices) await page.locator(`[data-device="${id}"][data-availability="online"]`).waitFor({ timeout: 30_000 });
    await page.locator('[data-connection="online"]').waitFor();
    const relay = gateway.devices.find((id) => id.includes("relay"))!;
    await page.locator(`[data-device="${relay}"] [data-command="on"] button`).click();
    await page.locator(`[data-device="${relay}"] .outcomes [data-status="ok"]`).waitFor({ timeout: 15_000 });
    await page.locator(`[data-device="${relay}"] [data-channel="state"]`, { hasText: "true" }).waitFor({ timeout: 15_000 });
    expect(metricValue(await scrape(gateway.httpUrl), "edgews_broker_connections", { transport: "ws" })).toBeGreaterThanOrEqual(2);
    expect(problems).toEqual([]);
  }, 90_000);
});
