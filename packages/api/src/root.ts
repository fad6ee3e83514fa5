import { apiTokensRouter } from "./routers/api-tokens/api-tokens.router";
import { auditRouter } from "./routers/audit/audit.router";
import { authRouter } from "./routers/auth/auth.router";
import { bytecodeRouter } from "./routers/bytecode/bytecode.router";
import { captureRulesRouter } from "./routers/capture-rules/capture-rules.router";
import { devicesRouter } from "./routers/devices/devices.router";
import { enrollmentTokensRouter } from "./routers/enrollment-tokens/enrollment-tokens.router";
import { exportTargetsRouter } from "./routers/export-targets/export-targets.router";
import { flowsRouter } from "./routers/flows/flows.router";
import { plansRouter } from "./routers/plans/plans.router";
import { usersRouter } from "./routers/users/users.router";
import { createCallerFactory, createTRPCRouter } from "./trpc";

export const appRouter = createTRPCRouter({
  bytecode: bytecodeRouter,
  captureRules: captureRulesRouter,
  auth: authRouter,
  users: usersRouter,
  apiTokens: apiTokensRouter,
  plans: plansRouter,
  audit: auditRouter,
  enrollmentTokens: enrollmentTokensRouter,
  devices: devicesRouter,
  flows: flowsRouter,
  exportTargets: exportTargetsRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
