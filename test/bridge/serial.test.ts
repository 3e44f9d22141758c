// The serial layer: serialport stays optional (nothing imports it before a port is opened or
// listed, and its absence is an error saying how to install it), and listing ports works
// without udev (serialport's list needs udevadm, missing in most containers).
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { listPorts } from "../../src/bridge/index.js";
import { useScratchDir } from "./helpers.js";

const run = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;
const dir = useScratchDir("serial");

/** A /dev with a USB adapter (and its by-id link), a CDC board, the Pi's UART, a legacy UART and unrelated nodes. */
function fakeDev(): string {
  const dev = join(dir, "dev");
  if (existsSync(dev)) return dev;
  mkdirSync(join(dev, "serial", "by-id"), { recursive: true });
  for (const name of ["ttyUSB0", "ttyACM1", "ttyAMA0", "ttyS0", "ttyS10", "tty1", "null", "ttyUSBx"]) writeFileSync(join(dev, name), "");
  symlinkSync("../../ttyUSB0", join(dev, "serial", "by-id", "usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0"));
  return dev;
}

describe("listing ports", () => {
  it("falls back to the device nodes in /dev, saying udev is missing, when serialport's list fails for want of udevadm", async () => {
    const dev = fakeDev();
    const udevMissing = Object.assign(new Error("spawn udevadm ENOENT"), { code: "ENOENT" });
    const { ports, warning } = await listPorts({ devDir: dev, list: () => Promise.reject(udevMissing) });
    expect(ports.map((p) => p.path.slice(dev.length + 1))).toEqual(["ttyACM1", "ttyAMA0", "ttyS0", "ttyS10", "ttyUSB0"]);
    expect(ports.find((p) => p.path.endsWith("ttyUSB0"))!.byId).toBe(join(dev, "serial", "by-id", "usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0"));
    expect(warning).toBe(`udevadm was not found (serialport lists ports through udev: apt-get install udev); listed the device nodes in ${dev} instead, without vendor details`);
  });

  it("uses serialport's list when it works", async () => {
    const listed = [{ path: "/dev/ttyUSB0", manufacturer: "FTDI", vendorId: "0403", productId: "6001" }];
    expect(await listPorts({ devDir: fakeDev(), list: async () => listed })).toEqual({ ports: listed });
  });

  it("`edgews bridge --list --json` lists this machine's ports and never fails", async () => {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "src/cli/bridge.ts", "--list", "--json"], { cwd: ROOT });
    expect(Array.isArray(JSON.parse(stdout))).toBe(true);
    const udevadm = ["/usr/bin/udevadm", "/bin/udevadm", "/sbin/udevadm", "/usr/sbin/udevadm"].some((p) => existsSync(p));
    if (!udevadm) expect(stderr).toMatch(/udevadm was not found .* apt-get install udev/);
  }, 30_000);
});

describe("serialport as an optional dependency", () => {
  it("is needed by nothing but opening and listing ports, and its absence says how to install it", async () => {
    const dev = fakeDev();
    const { stdout } = await run(process.execPath, ["--import", "tsx", "--import", "./test/bridge/fixtures/no-serialport.mjs", "test/bridge/fixtures/without-serialport.ts", dev], { cwd: ROOT });
    const result = JSON.parse(stdout);
    expect(result.imported).toEqual(["function", "function", "function"]);
    expect(result.openError.code).toBe("BRIDGE_SERIALPORT_MISSING");
    expect(result.openError.message).toMatch(/needs the optional dependency `serialport`, which is not installed: run `npm install serialport`/);
    expect(result.listing.ports.map((p: { path: string }) => p.path.slice(dev.length + 1))).toEqual(["ttyACM1", "ttyAMA0", "ttyS0", "ttyS10", "ttyUSB0"]);
    expect(result.listing.warning).toMatch(/npm install serialport.*listed the device nodes/);
  }, 30_000);
});
