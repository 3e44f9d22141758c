#!/usr/bin/env node
// Flash and RAM of the C device library on a Cortex-M0+, as JSON on stdout:
//   node firmware-sim/c/size.mjs [-DEWL_MAX_PACKET=64 ...]
// - library: every source compiled with arm-none-eabi-gcc -Os (flash = text + data; the
//   library has no static RAM of its own: RAM = data + bss = 0, everything is in ewl_link);
// - context: sizeof(ewl_link), the RAM one link takes wherever the caller puts it;
// - device: size_probe.c (a sensor using the usual API) linked bare with --gc-sections: the
//   flash the library costs such a device, and its RAM (the context plus a few variables).
// Extra arguments are passed to the compiler (the EWL_* sizes). Debian's gcc-arm-none-eabi
// is installed with apt-get when missing (as root), after saying so.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-Os", "-mcpu=cortex-m0plus", "-mthumb", "-ffunction-sections", "-fdata-sections"];
const run = (command, args) => execFileSync(command, args, { cwd: HERE, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

function ensureToolchain() {
  try {
    run("arm-none-eabi-gcc", ["--version"]);
  } catch {
    console.error("arm-none-eabi-gcc is missing: installing Debian's gcc-arm-none-eabi with apt-get");
    // apt-get's chatter goes to stderr: this script's stdout is its JSON sizes.
    const apt = (args) => execFileSync("apt-get", ["-o", "DPkg::Lock::Timeout=300", ...args], { stdio: ["ignore", 2, 2], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    apt(["update"]);
    apt(["install", "-y", "--no-install-recommends", "gcc-arm-none-eabi"]);
  }
}

/** Berkeley sizes (text, data, bss) of each file. */
function sizes(files) {
  const lines = run("arm-none-eabi-size", files).trim().split("\n").slice(1);
  return lines.map((line) => {
    const [text, data, bss] = line.trim().split(/\s+/).map(Number);
    return { text, data, bss };
  });
}

function main() {
  const defines = process.argv.slice(2);
  ensureToolchain();
  const out = mkdtempSync(join(tmpdir(), "edgews-size-"));
  try {
    const sources = readdirSync(join(HERE, "src")).filter((f) => f.endsWith(".c")).sort();
    const objects = sources.map((source) => {
      const object = join(out, source.replace(/\.c$/, ".o"));
      run("arm-none-eabi-gcc", [...CFLAGS, ...defines, "-c", join("src", source), "-o", object]);
      return object;
    });
    const perObject = sizes(objects);
    const sum = (key) => perObject.reduce((total, s) => total + s[key], 0);

    const probe = join(out, "size_probe.elf");
    // Bare: no libc and no startup files; libgcc for the division and switch helpers Thumb-1 lacks.
    run("arm-none-eabi-gcc", [...CFLAGS, ...defines, "-ffreestanding", "-nostdlib", "-Wl,--gc-sections", "-Wl,-e,_start", "size_probe.c", ...objects, "-lgcc", "-o", probe]);
    const [device] = sizes([probe]);
    const symbol = run("arm-none-eabi-nm", ["-S", probe]).split("\n").find((line) => / [bB] link$/.test(line));
    const context = parseInt(symbol.split(" ")[1], 16);
    const compiler = run("arm-none-eabi-gcc", ["-dumpversion"]).trim();

    console.log(JSON.stringify({
      target: `cortex-m0plus thumb, arm-none-eabi-gcc ${compiler} -Os`,
      defines,
      library: {
        flash: sum("text") + sum("data"),
        ram: sum("data") + sum("bss"),
        objects: Object.fromEntries(sources.map((source, i) => [source, perObject[i]])),
      },
      context,
      device: { flash: device.text + device.data, ram: device.data + device.bss },
    }, null, 1));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

main();
