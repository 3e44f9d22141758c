// The numbers that cross the WASM boundary are declared on both sides (AssemblyScript can't
// share a module with the host's TypeScript): they must agree.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FrameParser, loadCoreSync } from "../../src/core/node.js";
import { SMALL_FRAGMENT_BYTES, fragmentOverheadBudget } from "../../src/core/parser.js";
import { frame } from "../support/frames.js";

function enumMembers(file: string, name: string): Record<string, number> {
  const text = readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");
  const body = new RegExp(`enum ${name} \\{([^}]*)\\}`).exec(text)?.[1];
  if (!body) throw new Error(`no enum ${name} in ${file}`);
  return Object.fromEntries([...body.matchAll(/(\w+) = (\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
}

describe("core ↔ host numbering", () => {
  it("error kinds", () => {
    const core = enumMembers("assembly/events.ts", "ErrorKind");
    expect(Object.keys(core).length).toBeGreaterThan(10);
    expect(enumMembers("src/core/errors.ts", "ErrorKind")).toEqual(core);
  });

  it("event kinds", () => {
    const core = enumMembers("assembly/events.ts", "Event");
    expect(Object.keys(core)).toHaveLength(6);
    expect(enumMembers("src/core/parser.ts", "Event")).toEqual(core);
  });
});

describe("the small-fragment charge", () => {
  const core = loadCoreSync({ maxConnections: 2 });
  const empty = frame({ opcode: 0, fin: false, mask: Buffer.from([1, 2, 3, 4]) });
  const opening = frame({ opcode: 2, fin: false, mask: Buffer.from([1, 2, 3, 4]) });

  // The core enforces it, the host explains it in error reasons: both must tell the same rule.
  it.each([4096, 3 << 20])("the host's budget for maxMessage %i is the one the core enforces", (maxMessage) => {
    const allowed = fragmentOverheadBudget(maxMessage) / SMALL_FRAGMENT_BYTES;
    let sent = 0;
    let refusedAt = 0;
    const parser = new FrameParser(core, { role: "server", maxMessage }, { onMessage() {}, onError: () => (refusedAt = sent) });
    const push = (bytes: Buffer) => (sent++, parser.push(bytes));
    push(opening);
    while (refusedAt === 0 && sent <= allowed + 10) push(empty);
    parser.destroy();
    expect(refusedAt).toBe(allowed + 1);
  });
});
