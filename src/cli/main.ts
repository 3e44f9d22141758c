#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=1
// The `edgews` command: a dispatcher over subcommands. Each subcommand lives in a module of its
// own that is imported only when it runs, so `edgews --help` starts no more than this file.
// The shebang sizes the process for a small box (docs/gateway.md#memory): V8's young generation
// capped at 1 MiB semi-spaces (it otherwise grows to 16 MiB during the start and keeps them), and
// two glibc malloc arenas instead of one per thread that ever allocated (V8's compiler threads).
// Exit codes: 0 success, 1 failure, 2 usage error.
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
