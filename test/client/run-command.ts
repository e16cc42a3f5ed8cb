import { runCli } from "../../cmd/cli-runner.ts";

// Runs one client command the way `mqraft <name> ...` will once it is registered in cmd/mqraft.ts.
const [name, ...argv] = process.argv.slice(2);
const command = (await import(`../../cmd/${name}.ts`)).default;
process.exit(await runCli(command, argv));
