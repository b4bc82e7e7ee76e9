import { defineConfig } from "prisma/config";

// process.env, not Prisma's env(): env() throws when DATABASE_URL is unset, which would break
// `npm ci` (postinstall runs `prisma generate`) on a machine with embedded defaults.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost/unset" },
});
