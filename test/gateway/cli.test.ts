// `edgews gateway`'s command line as a process: help, a config error (exit 2, naming the key,
// the value and the fix), a bad flag, a port already taken (exit 1, saying which), a second
// gateway on the same state directory, and --hash-password.
import { spawnSync } from "node:child_process";
import net from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { verifyPassword } from "../../src/gateway/auth.js";
import { scratchDir, startGatewayProcess } from "../support/gateway.js";

const scratch = scratchDir({ "bad.yaml": "http:\n  port: 99999\nauth:\n  users:\n    - { username: ui, role: viewer, passwordEnv: UI_PW }\n" });
afterAll(() => scratch.remove());

function edgews(args: string[], input = "") {
  const result = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "gateway", ...args], { input, encoding: "utf8", timeout: 30_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("edgews gateway's command line", () => {
  it("prints its help", () => {
    const { code, stdout } = edgews(["--help"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: edgews gateway \[options\]/);
    expect(stdout).toContain("--broker URL");
  });

  it("exits 2 on a config error, naming each key, value and fix", () => {
    const { code, stderr } = edgews(["--config", join(scratch.dir, "bad.yaml")]);
    expect(code).toBe(2);
    expect(stderr).toContain(`${join(scratch.dir, "bad.yaml")}: http.port = 99999: http.port takes 0 to 65535`);
    expect(stderr).toContain('auth.users.0.role = "viewer": use one of admin, dashboard, device');
  });

  it("exits 2 on a bad flag", () => {
    const { code, stderr } = edgews(["--mqtt-port", "eighty"]);
    expect(code).toBe(2);
    expect(stderr).toContain('--mqtt-port takes an integer from 0 to 65535, got "eighty"');
  });

  it("exits 1 saying which port is taken", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const { code, stderr } = edgews(["--http-port", String(port), "--mqtt-port", "none", "--state-dir", join(scratch.dir, "taken")]);
      expect(code).toBe(1);
      expect(stderr).toContain(`cannot listen for HTTP on 127.0.0.1:${port}`);
    } finally {
      blocker.close();
    }
  });

  it("refuses a second gateway on the same state directory", async () => {
    const first = await startGatewayProcess(["--state-dir", join(scratch.dir, "shared"), "--log-level", "warn"]);
    try {
      const { code, stderr } = edgews(["--http-port", "0", "--mqtt-port", "none", "--state-dir", join(scratch.dir, "shared")]);
      expect(code).toBe(1);
      expect(stderr).toContain("is another gateway running with this stateDir?");
    } finally {
      await first.stop();
    }
  }, 30_000);

  it("hashes a password read on stdin", async () => {
    const { code, stdout } = edgews(["--hash-password"], "correct horse\n");
    expect(code).toBe(0);
    expect(await verifyPassword("correct horse", stdout.trim())).toBe(true);
    expect(edgews(["--hash-password"], "").code).toBe(2);
  });
});
