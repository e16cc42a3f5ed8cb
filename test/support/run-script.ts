/** Runs `script` (TypeScript, as `bun -e` takes it) in a child bun process; its exit code and its stdout and stderr together. */
export async function runScript(script: string): Promise<{ code: number; out: string }> {
  const child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
  try {
    const [out, err] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
    return { code: await child.exited, out: out + err };
  } finally {
    child.kill();
  }
}
