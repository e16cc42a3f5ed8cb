import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { commentsOf } from "./comments.ts";
import { REPO, readRepoFile, repoFiles } from "./repo-files.ts";

/**
 * A clone of this repository is all a reader has: no Markdown file and no code comment may point outside it, and a
 * Markdown link must lead to a file that exists.
 */

/** Absolute paths a text may name: the system's own folders, which every machine has. */
const SYSTEM_ROOTS = new Set(["usr", "etc", "tmp", "dev", "proc", "sys", "var", "bin", "opt", "lib", "run"]);

/** A path-like token: where it starts must not be inside a word (so `MB/s` or `and/or` are not paths). */
const RELATIVE_PATH = /(?<![\w.])\.\.?\/[\w./@+-]*[\w/]/g;
const ABSOLUTE_PATH = /(?<![\w.:/>)}\]])(~\/|\/(?=[A-Za-z_]))[\w.@+-]+\/[\w./@+-]*/g;
const MARKDOWN_FILE = /(?<![\w/.:-])[\w./-]*\.md\b/g;
const MARKDOWN_LINK = /!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)|^\s*\[[^\]]+\]:\s*(\S+)/gm;

const inside = (path: string): boolean => {
  const rel = relative(REPO, path);
  return rel === "" || (!rel.startsWith("..") && !rel.startsWith("/"));
};

/** What is wrong with the paths named in `text` of `file`, one line each. */
function problems(file: string, line: number, text: string): string[] {
  const out: string[] = [];
  const where = `${file}:${line}`;
  const from = join(REPO, dirname(file));
  for (const [token] of text.matchAll(RELATIVE_PATH)) {
    const target = resolve(from, token);
    if (!inside(target)) out.push(`${where}: ${token} resolves outside the repository`);
    else if (token.startsWith("../") && !existsSync(target)) out.push(`${where}: ${token} does not exist`);
  }
  for (const [token] of text.matchAll(ABSOLUTE_PATH)) {
    const root = token.startsWith("~") ? "~" : token.split("/")[1]!;
    if (!SYSTEM_ROOTS.has(root)) out.push(`${where}: ${token} is a path outside the repository`);
  }
  for (const [token] of text.matchAll(MARKDOWN_FILE)) {
    if (token.includes("://")) continue;
    const candidates = [resolve(from, token), resolve(REPO, token)];
    if (!candidates.some((c) => inside(c) && existsSync(c))) out.push(`${where}: ${token} is not in the repository`);
  }
  return out;
}

function linkProblems(file: string, text: string): string[] {
  const out: string[] = [];
  for (const match of text.matchAll(MARKDOWN_LINK)) {
    const target = (match[1] ?? match[2])!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#")) continue;
    const path = decodeURIComponent(target.split("#")[0]!);
    const line = text.slice(0, match.index).split("\n").length;
    const resolved = resolve(REPO, dirname(file), path);
    if (!inside(resolved)) out.push(`${file}:${line}: link ${target} leads outside the repository`);
    else if (!existsSync(resolved)) out.push(`${file}:${line}: link ${target} leads to a file that does not exist`);
  }
  return out;
}

export function markdownProblems(file: string, text: string): string[] {
  const lines = text.split("\n").flatMap((line, i) => problems(file, i + 1, line));
  return [...new Set([...linkProblems(file, text), ...lines])];
}

export function commentProblems(file: string, source: string): string[] {
  const found = commentsOf(file, source).flatMap((c) =>
    c.text.split("\n").flatMap((line, i) => problems(file, c.line + i, line)),
  );
  return [...new Set(found)];
}

const SOURCE_FILES = "{src,cmd,test,bench}/**/*.{ts,go}";
const SCRIPT_FILES = ["Makefile", "bunfig.toml", ".ci/run", ".gitignore"];

describe("the repository stands alone", () => {
  test("every Markdown link leads to an existing file inside it, and no path in Markdown points outside it", () => {
    const found = repoFiles("**/*.md").flatMap((file) => markdownProblems(file, readRepoFile(file)));
    expect(found).toEqual([]);
  });

  test("no path in a code comment points outside it", () => {
    const files = [...repoFiles(SOURCE_FILES), ...SCRIPT_FILES.filter((f) => existsSync(join(REPO, f)))];
    expect(files.length).toBeGreaterThan(100);
    const found = files.flatMap((file) => commentProblems(file, readRepoFile(file)));
    expect(found).toEqual([]);
  });

  // the checks above pass on a clean tree; these show that they would catch each kind of escape
  test("each kind of escape is caught", () => {
    const up = "..";
    expect(markdownProblems("README.md", `See \`${up}/shared/DESIGN.md\`.`)).toHaveLength(2);
    expect(markdownProblems("docs/x.md", `[design](${up}/${up}/shared/DESIGN.md)`).length).toBeGreaterThan(0);
    expect(markdownProblems("docs/x.md", "[gone](missing-page.md)")).toEqual([
      "docs/x.md:1: link missing-page.md leads to a file that does not exist",
      "docs/x.md:1: missing-page.md is not in the repository",
    ]);
    expect(markdownProblems("docs/x.md", "[ok](design.md) and [site](https://example.org/a.md)")).toEqual([]);
    expect(commentProblems("src/util/x.ts", `// crashes Bun (${up}/shared/PLATFORM.md)\nconst a = 1;`)).toHaveLength(2);
    expect(commentProblems("src/util/x.ts", `/** kept in /wo${"rk"}/shared/notes */`)).toHaveLength(1);
    expect(
      commentProblems("src/util/x.ts", `const re = /["']\\/\\//; // see docs/platform.md and /usr/local/bin`),
    ).toEqual([]);
    expect(commentProblems("src/util/x.ts", 'const url = "http://x/y"; // fine')).toEqual([]);
    expect(commentProblems("Makefile", `# see ${up}/${up}/elsewhere`)).toHaveLength(1);
  });
});
