import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runMqraft } from "../support/binary.ts";
import { TestCluster } from "../support/cluster.ts";
import { freePorts } from "../support/ports.ts";

/** CLI conventions a shell user expects (defects 11, 13), most without a cluster. */

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "mqraft-conventions-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts a colour code
const ANSI = /\x1b\[/;

describe("help and version", () => {
  test("--help piped: no colour and no trailing spaces; NO_COLOR is honoured too", async () => {
    for (const args of [["--help"], ["sub", "--help"], ["status", "--help"]]) {
      const r = await runMqraft(args, { env: { NO_COLOR: "1" } });
      expect(r.code).toBe(0);
      expect(ANSI.test(r.stdout), `colour in ${args.join(" ")}`).toBe(false);
      const trailing = r.stdout.split("\n").filter((line) => line !== line.trimEnd());
      expect(trailing, `lines with trailing spaces in ${args.join(" ")}`).toEqual([]);
    }
  });

  test("mqraft help [cmd], mqraft version and -V", async () => {
    const pkg = await Bun.file(new URL("../../package.json", import.meta.url)).json();
    expect((await runMqraft(["version"])).stdout).toBe(`${pkg.version}\n`);
    expect((await runMqraft(["-V"])).stdout).toBe(`${pkg.version}\n`);
    const help = await runMqraft(["help", "pub"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toBe((await runMqraft(["pub", "--help"])).stdout);
    expect((await runMqraft(["help"])).stdout).toContain("USAGE");
  });

  test("a mistyped subcommand gets a suggestion", async () => {
    const r = await runMqraft(["stauts"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('did you mean "status"?');
  });

  test("sub's usage shows that it takes several topics; bench modes list only their own flags", async () => {
    expect((await runMqraft(["sub", "--help"])).stdout).toContain("<TOPIC>...");
    const pub = (await runMqraft(["bench", "pub", "--help"])).stdout;
    expect(pub).toContain("--window");
    expect(pub).not.toContain("--from");
    expect(pub).not.toContain("--subs");
    const sub = (await runMqraft(["bench", "sub", "--help"])).stdout;
    expect(sub).toContain("--from");
    expect(sub).not.toContain("--window");
    expect(sub).not.toContain("--rate");
  });
});

describe("usage errors", () => {
  test("inspect of a folder that is not a data folder says so", async () => {
    const r = await runMqraft(["inspect", dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${dir} is not an mqraft data folder`);
    expect(r.stderr).not.toContain("CORRUPT");
  });

  test("join needs --id and --port", async () => {
    const noId = await runMqraft(["join", "--server", "127.0.0.1:1", "--port", "9"]);
    expect(noId.code).toBe(2);
    expect(noId.stderr).toContain("--id");
    const noPort = await runMqraft(["join", "--server", "127.0.0.1:1", "--id", "4"]);
    expect(noPort.code).toBe(2);
    expect(noPort.stderr).toContain("--port");
  });

  test("--host 0.0.0.0 without --advertise is refused: peers cannot dial 0.0.0.0", async () => {
    const r = await runMqraft(["broker", "--host", "0.0.0.0", "--data", join(dir, "wild")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--advertise");
  });

  test("up --nodes 1 on the data folder of three brokers says why it could never elect", async () => {
    const data = join(dir, "three");
    for (const id of [1, 2, 3]) {
      mkdirSync(join(data, String(id)), { recursive: true });
      writeFileSync(join(data, String(id), "hardstate"), "");
    }
    const [base, manager] = await freePorts(2);
    const r = await runMqraft([
      "up",
      "--nodes",
      "1",
      "--data",
      data,
      "--base-port",
      String(base),
      "--manager-port",
      String(manager),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("holds the data of brokers 1, 2, 3");
  });
});

describe("ports in use", () => {
  const held: Server[] = [];
  let ports: number[];
  beforeAll(async () => {
    ports = await freePorts(2);
    for (const port of ports) {
      const server = createServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
      held.push(server);
    }
  });
  afterAll(() => Promise.all(held.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))));

  test("a broker on a port in use says address already in use", async () => {
    const r = await runMqraft(["broker", "--port", String(ports[0]), "--data", join(dir, "busy")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${ports[0]}: address already in use`);
  });

  test("up whose children all fail exits 1 without hints to try the cluster", async () => {
    const r = await runMqraft(
      [
        "up",
        "--nodes",
        "1",
        "--base-port",
        String(ports[0]),
        "--manager-port",
        String(ports[1]),
        "--data",
        join(dir, "up"),
      ],
      { timeoutMs: 20_000 },
    );
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain("Try, in another terminal");
  });
});

describe("logs", () => {
  test("broker log lines carry milliseconds and the time zone", async () => {
    const cluster = await TestCluster.create({ nodes: 1 });
    try {
      await cluster.waitForLeader();
      const first = cluster.log(1).split("\n")[0] ?? "";
      expect(first).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[Broker \d+ [A-Z]+\] [A-Z]+: /);
    } finally {
      await cluster.destroy();
    }
  });
});
