// Flash and RAM of the C device library (firmware-sim/c/) on a Cortex-M0+, from its own size
// script: arm-none-eabi-gcc -Os, apt-installed by the script when missing (it says so first).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
export const SIZE_SCRIPT = join(root, "firmware-sim", "c", "size.mjs");
/** Compiling takes seconds; installing the toolchain first (CI's fresh machine) can take minutes. */
const SIZE_TIMEOUT_MS = 10 * 60_000;

/** What firmware-sim/c/size.mjs prints (the fields the bench reads). */
export interface CSizes {
  target: string;
  /** Every object of the library: flash = text + data; RAM = data + bss (none: the library keeps its state in the caller's context). */
  library: { flash: number; ram: number };
  /** sizeof(ewl_link): the RAM one link takes, wherever the caller puts it. */
  context: number;
  /** A typical sensor (size_probe.c) linked bare with --gc-sections: what the library costs a device. */
  device: { flash: number; ram: number };
}

let sizes: Promise<CSizes> | undefined;

/** The library's sizes at its default configuration; one compilation per process. */
export function cSizes(): Promise<CSizes> {
  sizes ??= runSizeScript();
  return sizes;
}

function runSizeScript(): Promise<CSizes> {
  if (!existsSync(SIZE_SCRIPT)) {
    return Promise.reject(new Error(`${SIZE_SCRIPT} is missing: the c-flash and c-ram cases measure the C device library (firmware-sim/c/), which is not in this checkout`));
  }
  return new Promise((resolve, reject) => {
    // The script's own progress (the apt-get line) goes to our stderr as it happens.
    const child = execFile(process.execPath, [SIZE_SCRIPT], { cwd: root, timeout: SIZE_TIMEOUT_MS, maxBuffer: 1 << 20 }, (error, stdout) => {
      if (error) return reject(new Error(`${SIZE_SCRIPT} failed: ${error.message}`));
      try {
        resolve(checked(JSON.parse(stdout) as CSizes));
      } catch (parseError) {
        reject(new Error(`${SIZE_SCRIPT} printed something other than its sizes (${(parseError as Error).message}): ${stdout.slice(0, 500)}`));
      }
    });
    child.stderr?.pipe(process.stderr);
  });
}

function checked(sizes: CSizes): CSizes {
  const figures = [sizes.library?.flash, sizes.library?.ram, sizes.context, sizes.device?.flash, sizes.device?.ram];
  if (!figures.every((n) => Number.isInteger(n) && n >= 0) || sizes.device.flash === 0) throw new Error(`unexpected figures ${JSON.stringify(figures)}`);
  return sizes;
}
