import { installCases } from "./install.case.ts";
import { logStoreCases } from "./log-store.case.ts";
import { recoveryCases } from "./recovery.case.ts";
import { simEnv } from "./storage-env.ts";

logStoreCases("simulated fs", async () => simEnv());
recoveryCases("simulated fs", async () => simEnv());
installCases("simulated fs", async () => simEnv());
