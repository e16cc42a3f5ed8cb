/** One sample of a scrape: `name{labels} value`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * Reads the samples of the text exposition format, for a dashboard that scrapes mqraft's own brokers (tests use a
 * full parser library to check the format itself). Comments, timestamps and malformed lines are skipped.
 */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(LABEL)) labels[l[1] as string] = unescapeLabel(l[2] as string);
    const value =
      m[3] === "+Inf" ? Number.POSITIVE_INFINITY : m[3] === "-Inf" ? Number.NEGATIVE_INFINITY : Number(m[3]);
    samples.push({ name: m[1] as string, labels, value });
  }
  return samples;
}

function unescapeLabel(s: string): string {
  return s.replace(/\\(["\\n])/g, (_, c: string) => (c === "n" ? "\n" : c));
}

/** The samples of one scrape, looked up by name and labels. */
export class ScrapeView {
  private readonly byName = new Map<string, Sample[]>();

  constructor(samples: Sample[]) {
    for (const s of samples) {
      const list = this.byName.get(s.name);
      if (list === undefined) this.byName.set(s.name, [s]);
      else list.push(s);
    }
  }

  all(name: string): Sample[] {
    return this.byName.get(name) ?? [];
  }

  value(name: string, labels: Record<string, string> = {}): number | undefined {
    return this.all(name).find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  }

  /** A histogram's cumulative bucket counts by upper bound (le), +Inf last. */
  buckets(name: string): { le: number; count: number }[] {
    return this.all(`${name}_bucket`)
      .map((s) => ({ le: s.labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(s.labels.le), count: s.value }))
      .sort((a, b) => a.le - b.le);
  }
}
