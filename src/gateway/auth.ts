// Who may connect to the embedded broker and what each may do. Passwords are kept as scrypt
// hashes ("scrypt$N$r$p$salt$hash", base64) and compared in constant time. Three roles:
//   admin      anything (the gateway's own bridge is one, with a password made at each start)
//   dashboard  read everything; publish only commands (<base>/<device>/set)
//   device     publish and subscribe only under <base>/<its username>/ (its own topics)
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";
import type { Role, UserConfig } from "./config.js";

const SCRYPT = { N: 16384, r: 8, p: 1, keyLength: 32 } as const;

function scryptAsync(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key))));
}

/** The stored form of `password`. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const { N, r, p, keyLength } = SCRYPT;
  const key = await scryptAsync(password, salt, keyLength, { N, r, p });
  return ["scrypt", N, r, p, salt.toString("base64"), key.toString("base64")].join("$");
}

/** Whether `password` matches `stored` (from hashPassword); false for a malformed hash. */
export async function verifyPassword(password: Buffer | string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64");
  const options = { N: Number(n), r: Number(r), p: Number(p), maxmem: 256 * Number(n) * Number(r) };
  try {
    const key = await scryptAsync(password.toString(), Buffer.from(salt, "base64"), expected.length, options);
    return timingSafeEqual(key, expected);
  } catch {
    return false;
  }
}

export interface Account {
  username: string;
  role: Role;
  passwordHash: string;
}

/** The config's users with their hashes: a passwordEnv user's password is read from the environment and hashed here. */
export async function accountsFrom(users: readonly UserConfig[], env: NodeJS.ProcessEnv): Promise<Account[]> {
  return Promise.all(
    users.map(async (user) => {
      if (user.passwordHash) return { username: user.username, role: user.role, passwordHash: user.passwordHash };
      const password = env[user.passwordEnv!];
      if (!password) throw new Error(`auth.users "${user.username}": the environment variable ${user.passwordEnv} is not set: set it to the user's password`);
      return { username: user.username, role: user.role, passwordHash: await hashPassword(password) };
    }),
  );
}

/** What one role may do, for a client whose username is `username`, under topic root `base`. */
export interface Permissions {
  publish(topic: string): boolean;
  subscribe(filter: string): boolean;
}

export function permissionsOf(role: Role, username: string, base: string): Permissions {
  switch (role) {
    case "admin":
      return { publish: () => true, subscribe: () => true };
    case "dashboard":
      return { publish: (topic) => isCommandTopic(topic, base), subscribe: () => true };
    case "device": {
      // The device's id is its username: a literal topic level, so '+' or '#' there never matches another's.
      const own = `${base}/${username}`;
      const mine = (topic: string) => topic === own || topic.startsWith(`${own}/`);
      return { publish: mine, subscribe: mine };
    }
  }
}

/** <base>/<device>/set, a command to one device (docs/bridge.md). */
function isCommandTopic(topic: string, base: string): boolean {
  if (!topic.startsWith(`${base}/`) || !topic.endsWith("/set")) return false;
  const device = topic.slice(base.length + 1, -"/set".length);
  return device.length > 0 && !device.includes("/");
}
