#!/usr/bin/env -S node --max-semi-space-size=1 --single-threaded --no-opt --liftoff-only
// The `edgews` command: a dispatcher over subcommands. Each subcommand lives in a module of its
// own that is imported only when it runs, so `edgews --help` starts no more than this file.
// Exit codes: 0 success, 1 failure, 2 usage error.
//
// Node's flags trade speed the command does not need for memory: `edgews bridge` must fit a
// 64 MB gateway budget with 32 devices (bench link, bridge-rss-32dev; per-flag figures in
// docs/bridge.md#memory). V8 reads them only at startup, hence the shebang (`env -S`: GNU
// coreutils >= 8.30, BSD/macOS env). --max-semi-space-size=1 keeps the young generation at
// its start size; --single-threaded keeps compilation and GC on the main thread, whose malloc
// arena reuses what they free (a background compiler thread held ~4 MiB of its own);
// --no-opt and --liftoff-only never run the optimizing compiler (for JS and for the WASM core):
// 1.7 MiB less of the node binary paged in, 1.8 MiB less anonymous memory. The price is CPU:
// ~14 % of a core for 320 device messages/s instead of ~10 %. Every subcommand gets them, the
// gateway's broker and server too (measured for the bridge only); `node dist/cli/main.js` runs
// a command without them.
import { createRequire } from "node:module";
import { CommandError, EXIT, UsageError } from "./usage.js";

interface Subcommand {
  summary: string;
  /** The module: `run(args)` resolves to the exit code; it prints its own --help. */
  load(): Promise<{ run(args: string[]): Promise<number> }>;
}

// One line per command.
const COMMANDS: Record<string, Subcommand> = {
  gateway: { summary: "the gateway: embedded MQTT broker, serial bridge, /healthz, /metrics, dashboard (--demo: simulated devices)", load: () => import("./gateway.js") },
  bridge: { summary: "put UART microcontrollers on MQTT (the serial bridge)", load: () => import("./bridge.js") },
  sim: { summary: "simulated devices on pseudo-terminals, for a serial bridge to open", load: () => import("./sim.js") },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const commands = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    "Usage: edgews <command> [options]",
    "",
    "Commands:",
    ...commands,
    "",
    "edgews <command> --help   the options of a command",
    "edgews --version          the version",
    "",
  ].join("\n");
}

async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined) {
    process.stderr.write(usage());
    return EXIT.usage;
  }
  if (name === "--help" || name === "-h") {
    process.stdout.write(usage());
    return EXIT.ok;
  }
  if (name === "--version" || name === "-v") {
    // ../../package.json from src/cli/ and from dist/cli/ alike.
    process.stdout.write(`${createRequire(import.meta.url)("../../package.json").version}\n`);
    return EXIT.ok;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(`edgews: unknown command ${JSON.stringify(name)}; the commands are ${Object.keys(COMMANDS).join(", ")} (edgews --help)\n`);
    return EXIT.usage;
  }
  try {
    return await (await command.load()).run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`edgews ${name}: ${error.message}\nThe options: edgews ${name} --help\n`);
      return EXIT.usage;
    }
    if (error instanceof CommandError) {
      process.stderr.write(`edgews ${name}: ${error.message}\n`);
      return EXIT.failure;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
