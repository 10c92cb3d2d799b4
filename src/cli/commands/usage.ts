import { UsageError } from "../command.js";
import { importUsage } from "./usageImport.js";
import { showUsage } from "./usageShow.js";

/** `usage import` and `usage show`. */
export async function usage(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  if (action === "import") return importUsage(rest);
  if (action === "show") return showUsage(rest);
  throw new UsageError(`unknown usage action: ${action ?? "(none)"}`);
}
