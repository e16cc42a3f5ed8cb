/**
 * How many columns of a terminal a string takes, so that tables line up whatever their cells hold: East Asian Wide
 * and Fullwidth characters (CJK, Hangul, fullwidth forms) and emoji take two, combining marks and format characters
 * none, and a grapheme cluster (a base with what joins it: marks, a ZWJ sequence, a flag's pair) as many as its base.
 */

/**
 * Code point ranges (first, last) of East Asian Width W or F (Unicode 14's EastAsianWidth.txt), less the emoji,
 * which EMOJI below finds with the runtime's newer Unicode. Made with perl's `\p{Ea=W}|\p{Ea=F}` minus
 * `\p{Emoji_Presentation}`.
 */
// biome-ignore format: pairs of code points
const WIDE = [
  0x1100, 0x115f, 0x2329, 0x232a, 0x2e80, 0x2e99, 0x2e9b, 0x2ef3, 0x2f00, 0x2fd5, 0x2ff0, 0x2ffb, 0x3000, 0x303e,
  0x3041, 0x3096, 0x3099, 0x30ff, 0x3105, 0x312f, 0x3131, 0x318e, 0x3190, 0x31e3, 0x31f0, 0x321e, 0x3220, 0x3247,
  0x3250, 0x4dbf, 0x4e00, 0xa48c, 0xa490, 0xa4c6, 0xa960, 0xa97c, 0xac00, 0xd7a3, 0xf900, 0xfaff, 0xfe10, 0xfe19,
  0xfe30, 0xfe52, 0xfe54, 0xfe66, 0xfe68, 0xfe6b, 0xff01, 0xff60, 0xffe0, 0xffe6, 0x16fe0, 0x16fe4, 0x16ff0, 0x16ff1,
  0x17000, 0x187f7, 0x18800, 0x18cd5, 0x18d00, 0x18d08, 0x1aff0, 0x1aff3, 0x1aff5, 0x1affb, 0x1affd, 0x1affe,
  0x1b000, 0x1b122, 0x1b150, 0x1b152, 0x1b164, 0x1b167, 0x1b170, 0x1b2fb, 0x1f200, 0x1f200, 0x1f202, 0x1f202,
  0x1f210, 0x1f219, 0x1f21b, 0x1f22e, 0x1f230, 0x1f231, 0x1f237, 0x1f237, 0x1f23b, 0x1f23b, 0x1f240, 0x1f248,
  0x1f260, 0x1f265, 0x20000, 0x2fffd, 0x30000, 0x3fffd,
];
const EMOJI = /\p{Emoji_Presentation}/u;
const PICTOGRAPHIC = /\p{Extended_Pictographic}/u;
/** Marks and format characters, and the Hangul vowels and finals that join a leading consonant: no column. */
const ZERO = /[\p{Mn}\p{Me}\p{Cf}\u1160-\u11ff\ud7b0-\ud7ff]/u;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

export function displayWidth(s: string): number {
  if (PRINTABLE_ASCII.test(s)) return s.length;
  let width = 0;
  for (const { segment } of graphemes.segment(s)) width += clusterWidth(segment);
  return width;
}

/** `s` followed by spaces up to `width` columns. */
export function padToWidth(s: string, width: number): string {
  return s + " ".repeat(Math.max(0, width - displayWidth(s)));
}

function clusterWidth(cluster: string): number {
  for (const ch of cluster) {
    const cp = ch.codePointAt(0) as number;
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || ZERO.test(ch)) continue;
    if (isWide(cp) || EMOJI.test(ch)) return 2;
    // a text-style pictograph asked to show as an emoji (U+FE0F) takes two columns too
    return cluster.includes("\ufe0f") && PICTOGRAPHIC.test(ch) ? 2 : 1;
  }
  return 0;
}

function isWide(cp: number): boolean {
  if (cp < 0x1100) return false;
  let lo = 0;
  let hi = WIDE.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < (WIDE[2 * mid] as number)) hi = mid - 1;
    else if (cp > (WIDE[2 * mid + 1] as number)) lo = mid + 1;
    else return true;
  }
  return false;
}
