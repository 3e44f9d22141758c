// What every `edgews` subcommand shares: its command line parsed with node:util's parseArgs,
// number options checked against their ranges, and two kinds of errors that main.ts turns into
// a message and an exit code.
import { parseArgs, type ParseArgsConfig } from "node:util";

/** Exit codes of every subcommand. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** The command line is wrong; the message says how (main.ts adds where to find the options; exit 2). */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** A failure the user can act on, printed without a stack trace (exit 1). */
export class CommandError extends Error {
  override readonly name = "CommandError";
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** parseArgs in strict mode, no positionals; its errors (unknown option, missing value) become UsageErrors. */
export function parseOptions<T extends Options>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** `text` as a number from `min` to `max` (an integer when `integer`), or a UsageError naming `--name`. */
export function numberOption(name: string, text: string, min: number, max: number, integer = false): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${name} takes ${integer ? "an integer" : "a number"} from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}
