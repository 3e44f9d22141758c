// The firmware simulator: microcontrollers that speak the serial link protocol
// (docs/link-protocol.md) through src/link's device end, for the bridge's tests, benchmarks and
// demos. `edgews sim` runs a fleet of them on pseudo-terminals; tests can run one in process on
// a virtual clock, where hours of traffic take seconds and a seed replays a run byte for byte.
//
//   model.ts, sensor.ts, relay.ts, meter.ts, kinds.ts   what a device measures or switches, its hello, its flash state
//   device.ts      the firmware: link session, drifting clock, telemetry rate, RAM outbox, reboots, flash
//   faults.ts      line faults per byte (bit flips, drops, inserts, bursts), each direction
//   scheduler.ts   injected time: real timers or a virtual clock
//   random.ts      seeded streams, forked per concern
//   pty.ts         socat pty pairs and the simulator's end of them
//   fleet.ts       N devices on N pty pairs in one process
export { SimDevice, MemoryFlash, DEVICE_LINK_DEFAULTS, INTERVAL_RANGE, MAX_DRIFT_PPM, SIM_FIRMWARE, type DeviceOptions, type DeviceState, type DeviceStats, type Flash, type FlashImage } from "./device.js";
export { LineFaults, MAX_ERROR_RATE, type FaultCounts, type FaultKind, type LineFaultOptions } from "./faults.js";
export { DEVICE_KINDS, createModel, isDeviceKind, type DeviceKind } from "./kinds.js";
export type { CommandOutcome, DeviceModel, EmitEvent, FlashRecord } from "./model.js";
export { Fleet, MAX_DEVICES, startFleet, type FleetDevice, type FleetOptions } from "./fleet.js";
export { PtyError, TtyEnd, openPtyPair, type PtyOptions, type PtyPair } from "./pty.js";
export { Random, deriveSeed } from "./random.js";
export { RealScheduler, VirtualScheduler, type Scheduler, type Timer } from "./scheduler.js";
