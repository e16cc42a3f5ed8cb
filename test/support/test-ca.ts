import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** PEM files of a CA made for one test run, and certificates it signed, all for 127.0.0.1 and localhost. */
export interface TestCa {
  dir: string;
  ca: string;
  /** cert and key file names by name. */
  issue(name: string): { cert: string; key: string };
}

/** Whether openssl(1) can make certificates here (`make test` installs it when missing and it can). */
export function haveOpenssl(): boolean {
  return spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync("openssl", args, { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${r.stderr}`);
}

/** A new CA (P-256, valid two days) in `dir`; `issue` signs a certificate for a server or client name. */
export function makeTestCa(dir: string, name = "ca"): TestCa {
  mkdirSync(dir, { recursive: true });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(
    [
      "req",
      "-x509",
      ...ec,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.pem`,
      "-days",
      "2",
      "-subj",
      `/CN=mqraft test ${name}`,
    ],
    dir,
  );
  const ext = join(dir, `${name}-ext.cnf`);
  writeFileSync(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n");
  return {
    dir,
    ca: join(dir, `${name}.pem`),
    issue(who: string) {
      openssl(["req", ...ec, "-keyout", `${who}.key`, "-out", `${who}.csr`, "-subj", `/CN=${who}`], dir);
      openssl(
        [
          "x509",
          "-req",
          "-in",
          `${who}.csr`,
          "-CA",
          `${name}.pem`,
          "-CAkey",
          `${name}.key`,
          "-CAcreateserial",
          "-out",
          `${who}.pem`,
          "-days",
          "2",
          "-extfile",
          ext,
        ],
        dir,
      );
      return { cert: join(dir, `${who}.pem`), key: join(dir, `${who}.key`) };
    },
  };
}
