// The fenced code blocks of a Markdown file, with the `<!-- readme-test: ... -->` directives written
// on the lines just above each one. Pure: text in, blocks or a list of problems out.

/** How the README test treats a block, by the language after its opening fence. */
export type Kind = "typescript" | "javascript" | "shell" | "json" | "prose";

const KINDS: Record<string, Kind> = {
  ts: "typescript",
  typescript: "typescript",
  js: "javascript",
  javascript: "javascript",
  sh: "shell",
  bash: "shell",
  shell: "shell",
  json: "json",
  // Diagrams and sample output: nothing to run.
  text: "prose",
};

export interface Block {
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly language: string;
  readonly kind: Kind;
  readonly code: string;
  /** Why the block is not run (it is still type-checked when it is TypeScript or JavaScript). */
  readonly skip?: string;
  /** Code for a page: type-checked with the DOM's types as a bundler resolves `edgews` for browsers, run in Chromium. */
  readonly browser?: true;
  /** Patterns its standard output must match before it counts as run. */
  readonly expect: readonly RegExp[];
}

export interface Extracted {
  readonly blocks: readonly Block[];
  /** What is wrong with the file's blocks or directives, each naming its line. */
  readonly problems: readonly string[];
}

const FENCE = /^(`{3,}|~{3,})\s*([\w+-]*)/;
const DIRECTIVE = /^<!--\s*readme-test:\s*(.*?)\s*-->\s*$/;

interface Directives {
  skip?: string;
  browser?: true;
  expect: RegExp[];
}

/** Reads one directive's text into `into`, or says what is wrong with it. */
function readDirective(text: string, into: Directives): string | undefined {
  if (text === "browser") {
    into.browser = true;
    return undefined;
  }
  const skip = /^skip\s+\((.+)\)$/.exec(text);
  if (skip) {
    into.skip = skip[1]!;
    return undefined;
  }
  const expect = /^expect\s+\/(.+)\/([a-z]*)$/.exec(text);
  if (expect) {
    try {
      // Without g or y, whose lastIndex would make test() stateful.
      into.expect.push(new RegExp(expect[1]!, expect[2]!.replace(/[gy]/g, "")));
      return undefined;
    } catch (error) {
      return `expect: ${(error as Error).message}`;
    }
  }
  return `unknown directive "${text}": write "skip (the reason)", "expect /a pattern of its output/" or "browser"`;
}

/** Every fenced block of `markdown`; `name` prefixes the line numbers in problems. */
export function extractBlocks(markdown: string, name: string): Extracted {
  const lines = markdown.split("\n");
  const blocks: Block[] = [];
  const problems: string[] = [];
  let pending: Directives = { expect: [] };
  let pendingLine = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const directive = DIRECTIVE.exec(line);
    if (directive) {
      if (pendingLine === 0) pendingLine = i + 1;
      const problem = readDirective(directive[1]!, pending);
      if (problem) problems.push(`${name}:${i + 1}: ${problem}`);
      continue;
    }
    const fence = FENCE.exec(line);
    if (!fence) {
      if (line.trim() !== "" && pendingLine !== 0) {
        problems.push(`${name}:${pendingLine}: a readme-test directive must be followed by a code block`);
        pending = { expect: [] };
        pendingLine = 0;
      }
      continue;
    }
    const end = lines.findIndex((l, j) => j > i && l.startsWith(fence[1]!));
    if (end < 0) {
      problems.push(`${name}:${i + 1}: the code block is never closed`);
      break;
    }
    const language = fence[2]!.toLowerCase();
    const kind = KINDS[language];
    if (kind === undefined) {
      problems.push(language === ""
        ? `${name}:${i + 1}: a code block without a language: say what it is (ts, sh, json, text for a diagram, ...)`
        : `${name}:${i + 1}: the README test cannot check \`${language}\` blocks: use one of ${Object.keys(KINDS).join(", ")}`);
    } else {
      blocks.push({ line: i + 1, language, kind, code: lines.slice(i + 1, end).join("\n"), ...pending });
    }
    pending = { expect: [] };
    pendingLine = 0;
    i = end;
  }
  return { blocks, problems };
}
