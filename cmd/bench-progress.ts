/** A progress bar on stderr, drawn only when stderr is a terminal: piped or --json output stays clean. */
export class Progress {
  private readonly timer: ReturnType<typeof setInterval> | undefined;
  private done = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    enabled: boolean = process.stderr.isTTY === true,
  ) {
    if (enabled) this.timer = setInterval(() => this.draw(), 200);
  }

  add(n: number): void {
    this.done += n;
  }

  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.draw();
    process.stderr.write("\n");
  }

  private draw(): void {
    const width = 40;
    const fraction = Math.min(1, this.done / this.total);
    const filled = Math.round(fraction * width);
    const bar = "#".repeat(filled) + " ".repeat(width - filled);
    process.stderr.write(
      `\r${this.label} [${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% ${this.done}/${this.total}`,
    );
  }
}
