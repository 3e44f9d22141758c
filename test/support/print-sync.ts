// Lines a child process prints for a parent that SIGKILLs it and counts them. process.stdout.write
// to a pipe is synchronous on Linux only while the pipe has room: once a busy parent lets it fill
// (64 KiB), Node queues the rest in memory, and a SIGKILL loses lines whose effects (a store write,
// a publish) already happened. This writes the whole line into the pipe before returning.
import { writeSync } from "node:fs";

export function printSync(line: string): void {
  const bytes = Buffer.from(`${line}\n`);
  for (let written = 0; written < bytes.length; ) {
    try {
      written += writeSync(1, bytes, written);
    } catch (error) {
      // stdout may be non-blocking: a full pipe says EAGAIN until the parent reads.
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
    }
  }
}
