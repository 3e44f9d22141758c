// The read buffer serialport holds for each open port (its read pool, `highWaterMark` bytes):
// 64 KiB by serialport's default, 4 KiB by the bridge's (SerialSettings.readBufferSize), which
// is what keeps 32 ports from holding 2 MiB for a few hundred bytes a second each.
import { SerialPortMock } from "serialport";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_SERIAL_SETTINGS, portOpener, type SerialPortLike } from "../../src/bridge/index.js";

// serialport's own MockBinding (the ESM build of @serialport/binding-mock would be another instance, with other ports).
const MockBinding = SerialPortMock.binding;
const PORTS = 64;
const KIB = 1024;

const open: SerialPortLike[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((port) => new Promise<void>((resolve) => port.close(() => resolve()))));
  MockBinding.reset();
});

describe("the ports' read buffers", () => {
  it(`take under 8 KiB a port by default (${PORTS} ports open)`, async () => {
    const openPort = portOpener(SerialPortMock);
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < PORTS; i++) {
      const path = `/dev/mock-read-buffer-${i}`;
      MockBinding.createPort(path);
      open.push(await openPort({ ...DEFAULT_SERIAL_SETTINGS, path }));
    }
    const perPort = (process.memoryUsage().arrayBuffers - before) / PORTS;
    expect(perPort).toBeLessThan(8 * KIB);
  });

  it("take the size a port is given", async () => {
    const openPort = portOpener(SerialPortMock);
    MockBinding.createPort("/dev/mock-read-buffer-sized");
    const before = process.memoryUsage().arrayBuffers;
    open.push(await openPort({ ...DEFAULT_SERIAL_SETTINGS, path: "/dev/mock-read-buffer-sized", readBufferSize: 256 * KIB }));
    expect(process.memoryUsage().arrayBuffers - before).toBeGreaterThanOrEqual(256 * KIB);
  });
});
