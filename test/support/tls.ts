// A throwaway self-signed CA/server certificate for 127.0.0.1, made with openssl in a temp dir.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificate {
  cert: Buffer;
  key: Buffer;
  remove(): void;
}

export function makeCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), "edgews-tls-"));
  try {
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-sha256",
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-subj", "/CN=localhost",
      "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE",
    ], { stdio: "pipe" });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not make a test certificate with openssl (apt-get install -y openssl): ${(error as Error).message}`);
  }
  return {
    cert: readFileSync(join(dir, "cert.pem")),
    key: readFileSync(join(dir, "key.pem")),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
