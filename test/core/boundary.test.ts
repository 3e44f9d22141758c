// The numbers that cross the WASM boundary are declared on both sides (AssemblyScript can't
// share a module with the host's TypeScript): they must agree.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

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
