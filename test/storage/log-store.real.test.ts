import { installCases } from "./install.case.ts";
import { logStoreCases } from "./log-store.case.ts";
import { recoveryCases } from "./recovery.case.ts";
import { realEnv } from "./storage-env.ts";

logStoreCases("real fs", realEnv);
recoveryCases("real fs", realEnv);
installCases("real fs", realEnv);
