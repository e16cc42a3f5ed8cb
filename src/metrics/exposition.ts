import type { Histogram } from "./histogram.ts";

export type Labels = Readonly<Record<string, string>>;
type MetricType = "counter" | "gauge" | "histogram";

/**
 * Writes the Prometheus text exposition format (version 0.0.4): one HELP and TYPE line per family,
 * then its samples. Families are written whole, in the order they are added.
 */
export class Exposition {
  private readonly lines: string[] = [];

  /** One family with one or more samples; `samples` pairs labels with a value. */
  family(name: string, type: "counter" | "gauge", help: string, samples: Iterable<[Labels, number]>): this {
    this.header(name, type, help);
    for (const [labels, value] of samples) this.lines.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
    return this;
  }

  gauge(name: string, help: string, value: number): this {
    return this.family(name, "gauge", help, [[{}, value]]);
  }

  counter(name: string, help: string, value: number): this {
    return this.family(name, "counter", help, [[{}, value]]);
  }

  histogram(name: string, help: string, h: Histogram): this {
    this.header(name, "histogram", help);
    let cumulative = 0;
    for (let i = 0; i < h.bounds.length; i++) {
      cumulative += h.counts[i] as number;
      this.lines.push(`${name}_bucket{le="${formatValue(h.bounds[i] as number)}"} ${cumulative}`);
    }
    this.lines.push(`${name}_bucket{le="+Inf"} ${h.count}`);
    this.lines.push(`${name}_sum ${formatValue(h.sum)}`);
    this.lines.push(`${name}_count ${h.count}`);
    return this;
  }

  text(): string {
    return `${this.lines.join("\n")}\n`;
  }

  private header(name: string, type: MetricType, help: string): void {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
    this.lines.push(`# TYPE ${name} ${type}`);
  }
}

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k] as string)}"`).join(",")}}`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}
