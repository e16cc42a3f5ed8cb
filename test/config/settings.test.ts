import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brokerArgs } from "../../cmd/broker.ts";
import { explainSource, resolveSettings } from "../../src/config/settings.ts";
import { runMqraft } from "../support/binary.ts";

const dir = mkdtempSync(join(tmpdir(), "mqraft-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const SAMPLE = `# every broker of this host
log-level = "debug"
host = "127.0.0.1"

[broker]
id = 2
port = 8001
http-port = 9002
repair = true
`;

describe("settings: flags > MQRAFT_<FLAG> > file > defaults", () => {
  test("each setting comes from the strongest source that sets it", () => {
    const path = file("sample.toml", SAMPLE);
    const r = resolveSettings("broker", brokerArgs, ["--config", path, "--port", "8005"], {
      MQRAFT_HTTP_PORT: "9100",
      MQRAFT_ID: "7",
      MQRAFT_LOG_FORMAT: "json",
    });
    const picked = Object.fromEntries(
      ["port", "http-port", "id", "log-format", "log-level", "repair", "election-ms"].map((k) => [
        k,
        [r.values.get(k), r.sources.get(k)?.kind],
      ]),
    );
    expect(picked).toEqual({
      port: ["8005", "flag"],
      "http-port": ["9100", "env"],
      id: ["7", "env"],
      "log-format": ["json", "env"],
      "log-level": ["debug", "file"],
      repair: [true, "file"],
      "election-ms": ["1000", "default"],
    });
    // what the command then parses: the given flags first, the others appended
    expect(r.rawArgs.slice(0, 4)).toEqual(["--config", path, "--port", "8005"]);
    expect(r.rawArgs).toContain("--http-port=9100");
    expect(r.rawArgs).toContain("--repair");
    expect(r.rawArgs).not.toContain("--election-ms=1000");
  });

  test("MQRAFT_CONFIG names the file when --config is not given; an empty variable counts as unset", () => {
    const path = file("env.toml", "[broker]\nport = 8123\n");
    const r = resolveSettings("broker", brokerArgs, [], { MQRAFT_CONFIG: path, MQRAFT_PORT: "" });
    expect([r.values.get("port"), r.sources.get("port")]).toEqual([
      "8123",
      { kind: "file", path, key: "broker.port", line: 2 },
    ]);
  });

  test("a bad value is reported with the variable or the file, line and key that set it", () => {
    const path = file("bad-port.toml", "[broker]\nid = 1\n\nport = 70000\n");
    const r = resolveSettings("broker", brokerArgs, ["--config", path], { MQRAFT_HTTP_PORT: "abc" });
    expect(explainSource('--port "70000": expected a port', r.sources)).toBe(
      `--port "70000": expected a port (${path}:4, key broker.port)`,
    );
    expect(explainSource('--http-port "abc": expected a port', r.sources)).toBe(
      '--http-port "abc": expected a port (set by MQRAFT_HTTP_PORT)',
    );
  });

  const errors: [string, string, RegExp][] = [
    ["an unknown key", "[broker]\nid = 1\nprot = 8000\n", /:3: broker\.prot: unknown key \(expected one of: id, /],
    ["a value of the wrong type", '[broker]\nrepair = "yes"\n', /:2: broker\.repair: expected true or false/],
    ["a table where a value belongs", "broker = 3\n", /:1: broker: expected a table \[broker\]/],
    ["broken TOML", "id = 1\n[broker\nport = 2\n", /:2: not valid TOML: /],
  ];
  for (const [what, text, expected] of errors) {
    test(`${what} is refused naming the file, the line and the key`, () => {
      const path = file(`${what.replace(/\W+/g, "-")}.toml`, text);
      let message = "no error";
      try {
        resolveSettings("broker", brokerArgs, ["--config", path], {});
      } catch (e) {
        message = e instanceof Error ? e.message : String(e);
      }
      expect(message.startsWith(path)).toBe(true);
      expect(message).toMatch(expected);
    });
  }

  test("a boolean variable takes true/false/1/0 and refuses anything else", () => {
    expect(resolveSettings("broker", brokerArgs, [], { MQRAFT_REPAIR: "0" }).rawArgs).toEqual(["--no-repair"]);
    expect(() => resolveSettings("broker", brokerArgs, [], { MQRAFT_REPAIR: "maybe" })).toThrow(
      'MQRAFT_REPAIR="maybe": expected true or false',
    );
  });
});

describe("mqraft config check", () => {
  test("prints the resolved settings of each table with their sources, and exits 2 naming the line of a bad value", async () => {
    const good = file("check.toml", SAMPLE);
    const ok = await runMqraft(["config", "check", "--config", good], { env: { MQRAFT_ELECTION_MS: "1500" } });
    expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: "" });
    expect(ok.stdout).toContain("[broker]\n");
    expect(ok.stdout).toContain(`  port = "8001"  # ${good}:7\n`);
    expect(ok.stdout).toContain('  election-ms = "1500"  # MQRAFT_ELECTION_MS\n');
    const bad = file("check-bad.toml", "[manager]\nport = 8888\nhttp-port = 99999\n");
    const refused = await runMqraft(["config", "check", "--config", bad]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`(${bad}:3, key manager.http-port)`);
  });

  test("a broker started with --config takes its settings from the file and refuses a bad one before it starts", async () => {
    const bad = file("broker-bad.toml", "[broker]\nid = 1\nready-lag = -5\n");
    const r = await runMqraft(["broker", "--config", bad, "--data", join(dir, "never")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`(${bad}:3, key broker.ready-lag)`);
  });
});

describe("the documentation of the config file", () => {
  test("docs/configuration.md names every key of every command that reads a file, and the sample file passes config check", async () => {
    const doc = await Bun.file(join(import.meta.dir, "../../docs/configuration.md")).text();
    const commands = {
      broker: (await import("../../cmd/broker.ts")).default,
      join: (await import("../../cmd/join.ts")).default,
      manager: (await import("../../cmd/manager.ts")).default,
      up: (await import("../../cmd/up.ts")).default,
    };
    const missing: string[] = [];
    for (const [name, command] of Object.entries(commands)) {
      const args = (command.args ?? {}) as Record<string, { type?: string }>;
      for (const [flag, def] of Object.entries(args)) {
        if (flag === "config" || def.type === "positional") continue;
        if (!doc.includes(`\`${flag}\``)) missing.push(`${name} ${flag}`);
      }
    }
    expect(missing).toEqual([]);
    const sample = join(import.meta.dir, "../../docs/mqraft.example.toml");
    const r = await runMqraft(["config", "check", "--config", sample]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  });
});
