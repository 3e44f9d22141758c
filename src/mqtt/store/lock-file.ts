// An exclusive lock on a store, between processes: a file created only if absent, holding the
// owner's PID. Node has no flock(), so a lock whose owner is dead is taken over by PID check.
import { readFile, rm, writeFile } from "node:fs/promises";

/** Another process (or this one) has the store open. */
export class StoreLockedError extends Error {
  readonly code = "EDGEWS_STORE_LOCKED";
  constructor(
    readonly lockPath: string,
    /** The process holding the lock, when its lock file names one. */
    readonly pid: number | undefined,
  ) {
    super(
      `message store is in use by process ${pid ?? "(unknown)"} (lock file ${lockPath}); ` +
        "close it there first, or delete the lock file if that process does not use the store",
    );
    this.name = "StoreLockedError";
  }
}

/**
 * Creates `lockPath` holding this process's PID, or throws `StoreLockedError` naming the live
 * process that holds it. A lock left by a dead process (`kill(pid, 0)` fails with ESRCH), or
 * one naming no PID, is taken over. Not atomic against two processes taking over the same
 * stale lock at the same instant; a PID recycled after a reboot keeps the lock until deleted.
 */
export async function acquireLock(lockPath: string): Promise<void> {
  if (await createLock(lockPath)) return;
  const holder = await readHolder(lockPath);
  if (holder !== undefined && isAlive(holder)) throw new StoreLockedError(lockPath, holder);
  await rm(lockPath, { force: true });
  if (await createLock(lockPath)) return;
  // Another process took the stale lock over between our removal and our creation.
  throw new StoreLockedError(lockPath, await readHolder(lockPath));
}

export async function releaseLock(lockPath: string): Promise<void> {
  await rm(lockPath, { force: true });
}

/** Whether `lockPath` was created (it did not exist). */
async function createLock(lockPath: string): Promise<boolean> {
  try {
    await writeFile(lockPath, `${process.pid}\n`, { flag: "wx" });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

/** The PID in `lockPath`; undefined if the file is gone or names no PID. */
async function readHolder(lockPath: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(lockPath, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}
