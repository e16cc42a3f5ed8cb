import parsePrometheusTextFormat, { type ParsedFamily } from "parse-prometheus-text-format";

/** A scrape parsed by a Prometheus text-format parser (it throws on text that is not the format). */
export class Scrape {
  readonly families: Map<string, ParsedFamily>;

  constructor(readonly text: string) {
    this.families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
  }

  static async of(url: string): Promise<Scrape> {
    const response = await fetch(url);
    if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
    return new Scrape(await response.text());
  }

  /** The value of the sample of `name` whose labels include `labels`; undefined when there is none. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const sample = this.families
      .get(name)
      ?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
    if (sample === undefined) return undefined;
    return Number(sample.value ?? sample.count);
  }

  type(name: string): string | undefined {
    return this.families.get(name)?.type;
  }
}
