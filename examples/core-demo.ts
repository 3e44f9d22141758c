// The core at work: 200 simulated devices stream sensor readings as masked WebSocket frames,
// split the way TCP splits them, into one shared WASM core. One device misbehaves and is
// refused with the close code RFC 6455 asks for. Run: npm run demo:core
import { FrameEncoder, FrameParser, Opcode, loadCoreSync } from "../src/core/node.js";

const DEVICES = 200;
const SECONDS = 3;

const core = loadCoreSync({ maxConnections: DEVICES });
const startMemory = core.memoryBytes;
const encoder = new FrameEncoder(core, { mask: true });
const received = new Array<number>(DEVICES).fill(0);
const closed: string[] = [];

const parsers = Array.from({ length: DEVICES }, (_, id) =>
  new FrameParser(core, { role: "server", maxPayload: 4096 }, {
    onMessage: () => received[id]!++,
    onError: (err) => closed.push(`device ${id}: closing with ${err.closeCode} (${err.code}: ${err.message})`),
  }));

function reading(id: number, seq: number): Uint8Array {
  const json = JSON.stringify({ device: `esp32-${id}`, seq, temperature: 20 + Math.sin(seq / 10) * 3, humidity: 40 + (seq % 7) });
  return encoder.encode(Opcode.Text, new TextEncoder().encode(json));
}

// A second of traffic per device, pre-encoded, then replayed in TCP-sized pieces.
const streams = parsers.map((_, id) => Buffer.concat(Array.from({ length: 200 }, (_, seq) => reading(id, seq))));
// Device 13 sends a text frame that is not UTF-8: the core must refuse it (1007).
streams[13] = Buffer.concat([streams[13]!.subarray(0, 500), encoder.encode(Opcode.Text, Uint8Array.of(0xc0, 0xaf))]);

console.log(`edgews core demo: ${DEVICES} devices, one ${core.flavour} WASM core, ${(startMemory / 1024).toFixed(0)} KiB of fixed memory`);
const started = performance.now();
let frames = 0;
let lastReport = started;
while (performance.now() - started < SECONDS * 1000) {
  for (let id = 0; id < DEVICES; id++) {
    const stream = streams[id]!;
    for (let off = 0; off < stream.length; off += 1460) parsers[id]!.push(stream.subarray(off, off + 1460));
  }
  frames = received.reduce((a, b) => a + b, 0);
  const now = performance.now();
  if (now - lastReport > 500) {
    const line = `  ${frames.toLocaleString()} frames parsed, ${Math.round(frames / ((now - started) / 1000)).toLocaleString()} frames/s`;
    process.stdout.write(process.stdout.isTTY ? `\r${line}` : `${line}\n`);
    lastReport = now;
  }
  // Streams replay from the start: give each device a fresh connection.
  for (let id = 0; id < DEVICES; id++) {
    if (id === 13) continue;
    parsers[id]!.destroy();
    parsers[id] = new FrameParser(core, { role: "server", maxPayload: 4096 }, { onMessage: () => received[id]!++, onError: () => {} });
  }
}
if (process.stdout.isTTY) console.log();
for (const line of closed) console.log(`  ${line}`);
console.log(`  core memory: ${(core.memoryBytes / 1024).toFixed(0)} KiB (unchanged: ${core.memoryBytes === startMemory})`);
