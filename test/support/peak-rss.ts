// Runs a command and writes its peak RSS (bytes) to the file named by PEAK_RSS_FILE, exiting with its
// status. A process's children's rusage is the maximum over every child it ever waited for, so the
// test runner (which has run many) cannot measure one run itself; this fresh process has only the one.

import { writeFileSync } from "node:fs";

const [command, ...args] = process.argv.slice(2);
const child = Bun.spawnSync([command, ...args], { stdio: ["inherit", "inherit", "inherit"] });
writeFileSync(process.env.PEAK_RSS_FILE!, String(child.resourceUsage?.maxRSS ?? 0));
process.exit(child.exitCode ?? 1);
