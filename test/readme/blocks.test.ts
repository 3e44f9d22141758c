// Reading a Markdown file's code blocks and their readme-test directives (blocks.ts).
import { describe, expect, it } from "vitest";
import { extractBlocks } from "./blocks.js";

const fence = "```";

describe("extractBlocks", () => {
  it("returns each block with its line, language, kind, code and directives", () => {
    const markdown = [
      "# Title", // 1
      "", // 2
      "<!-- readme-test: skip (starts a long bench) -->", // 3
      `${fence}sh`, // 4
      "npm run bench", // 5
      fence, // 6
      "<!-- readme-test: expect /^hello$/m -->", // 7
      "", // 8
      `${fence}ts`, // 9
      'console.log("hello");', // 10
      "", // 11
      "const a = 1;", // 12
      fence, // 13
      `${fence}text`, // 14
      " a ──► b", // 15
      fence, // 16
      `${fence}json`, // 17
      '{"a": 1}', // 18
      fence, // 19
    ].join("\n");
    const { blocks, problems } = extractBlocks(markdown, "X.md");
    expect(problems).toEqual([]);
    expect(blocks).toEqual([
      { line: 4, language: "sh", kind: "shell", code: "npm run bench", skip: "starts a long bench", expect: [] },
      { line: 9, language: "ts", kind: "typescript", code: 'console.log("hello");\n\nconst a = 1;', expect: [/^hello$/m] },
      { line: 14, language: "text", kind: "prose", code: " a ──► b", expect: [] },
      { line: 17, language: "json", kind: "json", code: '{"a": 1}', expect: [] },
    ]);
  });

  it("marks a page's block with the browser directive", () => {
    const { blocks } = extractBlocks(["<!-- readme-test: browser -->", `${fence}ts`, "document.title;", fence].join("\n"), "X.md");
    expect(blocks).toEqual([{ line: 2, language: "ts", kind: "typescript", code: "document.title;", browser: true, expect: [] }]);
  });

  it("keeps code that looks like a fence or a directive inside a block", () => {
    const markdown = ["````md", fence, "<!-- readme-test: skip (x) -->", fence, "````"].join("\n");
    expect(extractBlocks(markdown, "X.md").problems).toEqual([
      "X.md:1: the README test cannot check `md` blocks: use one of ts, typescript, js, javascript, sh, bash, shell, json, text",
    ]);
  });

  it("names each problem with its line: no language, unknown language or directive, a directive with no block, an open block", () => {
    const markdown = [
      fence, // 1
      "x", // 2
      fence, // 3
      "<!-- readme-test: skip -->", // 4
      `${fence}python`, // 5
      fence, // 6
      "<!-- readme-test: expect /(/ -->", // 7
      "some prose", // 8
      `${fence}ts`, // 9
      "never closed", // 10
    ].join("\n");
    expect(extractBlocks(markdown, "X.md").problems).toEqual([
      "X.md:1: a code block without a language: say what it is (ts, sh, json, text for a diagram, ...)",
      'X.md:4: unknown directive "skip": write "skip (the reason)", "expect /a pattern of its output/" or "browser"',
      "X.md:5: the README test cannot check `python` blocks: use one of ts, typescript, js, javascript, sh, bash, shell, json, text",
      expect.stringMatching(/^X\.md:7: expect: Invalid regular expression/),
      "X.md:7: a readme-test directive must be followed by a code block",
      "X.md:9: the code block is never closed",
    ]);
  });
});
