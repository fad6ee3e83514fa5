#!/usr/bin/env node
// The agent ships as TypeScript source like every package of the monorepo; tsx compiles it on load.
import { register } from "tsx/esm/api";

register();
const { runCliProcess } = await import("../src/cli.ts");
await runCliProcess(process.argv.slice(2));
