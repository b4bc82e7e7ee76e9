# syntax=docker/dockerfile:1
# fingate: multi-stage image. The build stage compiles TypeScript (including the generated Prisma
# client) to dist/; the runtime stage holds production dependencies, dist/, the SQL migrations
# and the locales, and runs as an unprivileged user. The gateway applies pending migrations
# itself when it starts (an advisory lock keeps replicas from migrating at once).

ARG NODE_IMAGE=node:20-slim

# ---- build ------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV PRISMA_HIDE_UPDATE_MESSAGE=1 \
    CHECKPOINT_DISABLE=1

# Dependencies first so this layer is cached until the lockfile changes. No dependency needs an
# install script (package.json denies them all); --ignore-scripts also holds on npm versions that
# do not read `allowScripts`. Our own postinstall (prisma generate, offline) runs explicitly.
COPY package.json package-lock.json .npmrc prisma.config.ts ./
COPY prisma ./prisma
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm run postinstall

# locales/ may not exist yet in early checkouts; make sure the runtime stage has something to copy.
COPY . .
RUN npm run build \
 && mkdir -p locales

# ---- runtime ----------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    PORT=3000 \
    FINGATE_DATA_DIR=/app/data

# Production dependencies only. --ignore-scripts: the postinstall would run `prisma generate`,
# whose CLI is a devDependency; the generated client is already compiled into dist/.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma/migrations ./prisma/migrations
COPY --from=build /app/locales ./locales
# Code that locates files relative to its own module (e.g. the migration runner:
# <module dir>/../../../prisma/migrations) lands in dist/ when compiled; point dist/ back at them.
RUN ln -s ../prisma dist/prisma \
 && ln -s ../locales dist/locales \
 && mkdir -p /app/data \
 && chown node:node /app/data

# The embedded PGlite database (used when DATABASE_URL is unset) lives in /app/data; mount a
# volume there, or set DATABASE_URL to use PostgreSQL. NODE_ENV=production seeds no demo data
# (README publishes its PINs) unless FINGATE_DEMO=1 is set.
VOLUME ["/app/data"]
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# A young generation of 2 × 16 MiB, pinned: its scavenges pause the gateway ~3 ms (~4.6 at 32 MiB),
# and the memory a larger one would take goes to FINGATE_HEAP_GROWTH_PERCENT (fewer full
# collections, the p99 tail's bursts). bench:ussd runs the gateway with the same flag.
CMD ["node", "--max-semi-space-size=32", "dist/src/cli.js", "start"]
