// The dashboard in a real headless Chromium, against a real Mosquitto fed by the real serial
// bridge with simulated devices on pseudo-terminals (firmware-sim): the devices appear with their
// readings, the charts move, a command round-trips to the relay and back, and when the broker dies
// and comes back the page says it is offline, then recovers by itself, without a reload. And the
// page as the bridge: "Connect a device" over Web Serial, whose port object is driven from a
// simulated device in this process (navigator.serial replaced before the page loads).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../../examples/dashboard/build.mjs";
import { RealScheduler, SimDevice, startFleet, type Fleet } from "../../firmware-sim/index.js";
import { startBridge, type Bridge } from "../../src/bridge/index.js";
import { keepLog, useScratchDir } from "../bridge/helpers.js";
import { launchChromium, type ChromiumSession } from "../support/chromium.js";
import { startMosquitto, type Mosquitto } from "../support/mosquitto.js";
import { serveFolder, type StaticSite } from "./serve.js";

const BASE = "dash";
const ARTIFACTS = new URL("../../test-artifacts/", import.meta.url).pathname;
const dir = useScratchDir("dashboard-e2e");

describe("the dashboard in Chromium, fed by the bridge and simulated devices", () => {
  let broker: Mosquitto;
  let fleet: Fleet;
  let bridge: Bridge;
  let site: StaticSite;
  let browser: ChromiumSession;

  beforeAll(async () => {
    // Persistence: retained availability and info outlive the broker's restart, as they would in production.
    broker = await startMosquitto({ persistence: true });
    fleet = await startFleet({ devices: 2, kinds: ["relay", "sensor"], rate: 5, seed: 11, dir: join(dir, "sim") });
    bridge = await startBridge({ url: broker.url, clientId: `dash-bridge-${process.pid}`, base: BASE, store: join(dir, "store"), ports: fleet.devices.map((d) => d.path), log: keepLog().log, mqttReconnect: { initialDelay: 200, maxDelay: 1000 } });
    const sizes = await buildDashboard(join(dir, "site"));
    console.info(`dashboard: ${Object.entries(sizes).map(([name, s]) => `${name} ${(s.gzip / 1024).toFixed(1)} KiB gzip`).join(", ")}`);
    site = await serveFolder(join(dir, "site"));
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await bridge?.stop();
    await fleet?.stop();
    await broker?.dispose();
  });

  it("shows the devices live, round-trips a command, and recovers from a broker restart with no reload", async () => {
    const { page } = browser;
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    await page.goto(`${site.origin}/?broker=${encodeURIComponent(broker.url)}&base=${BASE}`);
    const [relay, sensor] = fleet.devices.map((d) => d.id) as [string, string];

    for (const id of [relay, sensor]) await page.locator(`[data-device="${id}"][data-availability="online"]`).waitFor({ timeout: 30_000 });
    await page.locator('[data-connection="online"]').waitFor();

    // The charts move: the sensor's series grows while we watch, and uPlot drew it.
    const points = () => page.evaluate((id) => (globalThis as any).dashboard.fleet.devices.get(id).series.get("temperature")?.times.length ?? 0, sensor);
    const before = await points();
    await expect.poll(points, { timeout: 10_000 }).toBeGreaterThan(before + 3);
    expect(await page.locator(`[data-device="${sensor}"] .chart canvas`).count()).toBeGreaterThan(0);

    // A command, from the keyboard alone: Tab to the relay's "on" button, Enter; then the
    // device's result and the state it reports.
    const onButton = page.locator(`[data-device="${relay}"] [data-command="on"] button`);
    for (let presses = 0; presses < 40 && !(await onButton.evaluate((b) => b === document.activeElement)); presses++) await page.keyboard.press("Tab");
    expect(await onButton.evaluate((b) => b === document.activeElement), "the on button is reachable with Tab").toBe(true);
    await page.keyboard.press("Enter");
    await page.locator(`[data-device="${relay}"] .outcomes [data-status="ok"]`).waitFor({ timeout: 15_000 });
    await page.locator(`[data-device="${relay}"] [data-channel="state"]`, { hasText: "true" }).waitFor({ timeout: 15_000 });

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "dashboard.png"), fullPage: true });
    // At phone width: one column, nothing wider than the screen.
    await page.setViewportSize({ width: 375, height: 800 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    expect(await page.locator(`[data-device="${relay}"]`).evaluate((card) => card.getBoundingClientRect().width)).toBeLessThanOrEqual(375);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-phone.png"), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 720 });

    // The broker goes away: the page says so and counts down; it comes back: the page catches up by itself.
    await page.evaluate(() => ((globalThis as any).loadedOnce = true));
    await broker.kill();
    await page.locator('[data-connection="offline"]').waitFor({ timeout: 15_000 });
    expect(await page.locator(".connection").textContent()).toMatch(/offline for \d+ s/);
    await broker.restart();
    await page.locator('[data-connection="online"]').waitFor({ timeout: 20_000 });
    const after = await points();
    await expect.poll(points, { timeout: 15_000 }).toBeGreaterThan(after + 3);
    await page.locator(`[data-device="${sensor}"][data-availability="online"]`).waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => (globalThis as any).loadedOnce)).toBe(true); // no reload
    expect(problems).toEqual([]);
  }, 120_000);

  it("bridges a Web Serial device from the page: it appears, reports, and answers a command", async () => {
    const page = await browser.context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    let device: SimDevice | undefined;
    await page.exposeFunction("deviceReceive", (bytes: number[]) => device?.receive(Uint8Array.from(bytes)));
    await page.addInitScript(FAKE_SERIAL);
    device = new SimDevice({
      id: "web-sensor", kind: "sensor", seed: 5, scheduler: new RealScheduler(), rate: 5,
      write: (bytes) => void page.evaluate((b) => (globalThis as any).fromDevice(b), Array.from(bytes)).catch(() => {}),
    });
    device.start();
    try {
      await page.goto(`${site.origin}/?broker=${encodeURIComponent(broker.url)}&base=${BASE}&baud=57600`);
      await page.getByRole("button", { name: "Connect a device" }).click();
      await page.locator('[data-device="web-sensor"][data-availability="online"]').waitFor({ timeout: 30_000 });
      expect(await page.evaluate(() => (globalThis as any).serialOpened)).toMatchObject({ baudRate: 57_600 });
      await page.locator('[data-device="web-sensor"] [data-channel="temperature"]').waitFor({ timeout: 10_000 });
      await page.locator('[data-device="web-sensor"] [data-command="offset"] input').fill("1.5");
      await page.locator('[data-device="web-sensor"] [data-command="offset"] button').click();
      await page.locator('[data-device="web-sensor"] .outcomes [data-status="ok"]').waitFor({ timeout: 15_000 });
      await page.screenshot({ path: join(ARTIFACTS, "dashboard-web-serial.png"), fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      device.stop();
      await page.close();
    }
  }, 60_000);
});

/** navigator.serial with one port whose other end is the test's simulated device. */
const FAKE_SERIAL = `
  const port = {
    readable: null,
    writable: null,
    async open(options) {
      globalThis.serialOpened = options;
      this.readable = new ReadableStream({ start: (controller) => (globalThis.toPage = controller) });
      this.writable = new WritableStream({ write: (chunk) => globalThis.deviceReceive(Array.from(chunk)) });
    },
    async close() { this.readable = this.writable = null; },
  };
  globalThis.fromDevice = (bytes) => globalThis.toPage?.enqueue(new Uint8Array(bytes));
  Object.defineProperty(navigator, "serial", { configurable: true, value: { requestPort: async () => port } });
`;
