/** A capture in its own process, for the tests that kill one: `node --import tsx capture-child.ts
 * IFNAME MODE`. Prints "attached" once it captures, one JSON line per batch, and stops on SIGTERM. */
import { runCapture } from "../src/roles/capture";

const [ifname, mode] = process.argv.slice(2);
if (!ifname || (mode !== "tcx" && mode !== "clsact" && mode !== "auto")) {
  process.stderr.write("usage: capture-child.ts IFNAME tcx|clsact|auto\n");
  process.exit(2);
}
const stop = new AbortController();
process.on("SIGTERM", () => stop.abort());
const summary = await runCapture(
  {
    include: [ifname],
    exclude: [],
    intervalMs: 300,
    deviceName: "capture-child",
    attachMode: mode,
    log: (msg) => {
      process.stderr.write(`${msg}\n`);
      if (msg.startsWith(`attached to ${ifname} `)) process.stdout.write("attached\n");
    },
  },
  (records) => {
    process.stdout.write(`${JSON.stringify({ records: records.length })}\n`);
  },
  stop.signal,
);
process.stdout.write(`${JSON.stringify({ summary })}\n`);
