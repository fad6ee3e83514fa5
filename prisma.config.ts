import { defineConfig } from "prisma/config";

// The Prisma CLI is used only for `generate` (see packages/db/scripts/generate.mjs); migrations are
// plain SQL applied by packages/db's migrator, because the schema engine cannot be downloaded here.
export default defineConfig({
  schema: "prisma/schema.prisma",
});
