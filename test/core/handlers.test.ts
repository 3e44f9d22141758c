// What handlers may do to their parser: destroy it, or throw.
import { describe, expect, it } from "vitest";
import { FrameEncoder, FrameParser, Opcode, loadCoreSync } from "../../src/core/node.js";

const core = loadCoreSync({ maxConnections: 8 });
const enc = new FrameEncoder(core, { mask: false });
const frames = (...texts: string[]) => Buffer.concat(texts.map((t) => enc.encode(Opcode.Text, Buffer.from(t))));

describe("handlers", () => {
  it("destroy() inside a handler stops delivery of the rest of that push", () => {
    const got: string[] = [];
    const p: FrameParser = new FrameParser(core, { role: "client" }, {
      onMessage: (d) => {
        got.push(Buffer.from(d).toString());
        if (got.length === 2) p.destroy();
      },
      onError: (e) => got.push(e.code),
    });
    p.push(frames("a", "b", "c", "d"));
    expect(got).toEqual(["a", "b"]);
    expect(() => p.push(frames("e"))).toThrow(/destroyed/);
  });

  it("a handler that throws ends its own parser, and a push it deferred for another parser still runs", () => {
    const got: string[] = [];
    const other = new FrameParser(core, { role: "client" }, { onMessage: (d) => got.push(`other:${Buffer.from(d)}`), onError: () => {} });
    const p = new FrameParser(core, { role: "client" }, {
      onMessage: (d) => {
        got.push(Buffer.from(d).toString());
        other.push(frames("x"));
        throw new Error("app bug");
      },
      onError: () => {},
    });
    expect(() => p.push(frames("a", "b"))).toThrow("app bug");
    expect(got).toEqual(["a", "other:x"]);
    p.push(frames("c"));
    expect(got).toEqual(["a", "other:x"]);
    p.destroy();
    other.destroy();
  });
});
