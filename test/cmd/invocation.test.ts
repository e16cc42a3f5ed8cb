import { describe, expect, test } from "bun:test";
import { describeInvocation } from "../../cmd/self-command.ts";

describe("how mqraft up tells to run mqraft", () => {
  test("the binary as it was started, relative to the shell's folder, unless the PATH finds this same binary", () => {
    const execPath = "/home/me/mqraft/dist/mqraft";
    expect(describeInvocation({ execPath, cwd: "/home/me/mqraft" })).toBe("./dist/mqraft");
    expect(describeInvocation({ execPath, cwd: "/home/me/mqraft/dist" })).toBe("./mqraft");
    expect(describeInvocation({ execPath, cwd: "/srv" })).toBe(execPath);
    expect(describeInvocation({ execPath, cwd: "/home/me/mqraft", onPath: "/usr/local/bin/mqraft" })).toBe(
      "./dist/mqraft",
    );
    expect(
      describeInvocation({ execPath: "/usr/local/bin/mqraft", cwd: "/srv", onPath: "/usr/local/bin/mqraft" }),
    ).toBe("mqraft");
  });

  test("under a runtime, the runtime and the script", () => {
    expect(describeInvocation({ execPath: "/r/node_modules/bun/bin/bun", script: "/r/cmd/mqraft.ts", cwd: "/r" })).toBe(
      "./node_modules/bun/bin/bun cmd/mqraft.ts",
    );
  });
});
