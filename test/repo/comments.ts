/**
 * The comments of a source file, as text with their line numbers. TypeScript, JavaScript and Go: `//` and `/* … *\/`,
 * skipping string, template and regular-expression literals (a `//` inside them is not a comment). Shell, Makefile,
 * TOML: `#` to the end of the line.
 */
export interface Comment {
  line: number;
  text: string;
}

const REGEX_MAY_FOLLOW = new Set([
  "",
  "(",
  ",",
  "=",
  ":",
  "[",
  "!",
  "&",
  "|",
  "?",
  "{",
  "}",
  ";",
  "+",
  "-",
  "*",
  "<",
  ">",
]);

export function commentsOf(file: string, source: string): Comment[] {
  return /\.(ts|js|mjs|go)$/.test(file) ? cStyleComments(source) : hashComments(source);
}

function hashComments(source: string): Comment[] {
  const out: Comment[] = [];
  source.split("\n").forEach((text, i) => {
    const at = text.search(/(^|\s)#/);
    if (at >= 0) out.push({ line: i + 1, text: text.slice(at) });
  });
  return out;
}

function cStyleComments(s: string): Comment[] {
  const out: Comment[] = [];
  let line = 1;
  let last = "";
  let i = 0;
  const skipQuoted = (quote: string): void => {
    for (i++; i < s.length && s[i] !== quote; i++) {
      if (s[i] === "\\") i++;
      else if (s[i] === "\n") line++;
    }
    i++;
  };
  while (i < s.length) {
    const c = s[i]!;
    if (c === "\n") {
      line++;
      i++;
    } else if (c === " " || c === "\t" || c === "\r") {
      i++;
    } else if (c === "/" && s[i + 1] === "/") {
      const end = s.indexOf("\n", i);
      const stop = end < 0 ? s.length : end;
      out.push({ line, text: s.slice(i, stop) });
      i = stop;
    } else if (c === "/" && s[i + 1] === "*") {
      const end = s.indexOf("*/", i + 2);
      const stop = end < 0 ? s.length : end + 2;
      const text = s.slice(i, stop);
      out.push({ line, text });
      line += text.split("\n").length - 1;
      i = stop;
    } else if (c === '"' || c === "'" || c === "`") {
      skipQuoted(c);
      last = "a";
    } else if (c === "/" && REGEX_MAY_FOLLOW.has(last)) {
      let inClass = false;
      for (i++; i < s.length && s[i] !== "\n"; i++) {
        if (s[i] === "\\") i++;
        else if (s[i] === "[") inClass = true;
        else if (s[i] === "]") inClass = false;
        else if (s[i] === "/" && !inClass) break;
      }
      i++;
      last = "a";
    } else {
      last = /[A-Za-z0-9_$)\].]/.test(c) ? "a" : c;
      i++;
    }
  }
  return out;
}
