// Dependency rules from DESIGN.md, checked by `npm run lint` (depcruise src test).
// Dependencies point inward: channels → menus → core ← infra/http; core and menus know no
// framework, channels never import each other, and there are no import cycles.
// Type-only imports count too (tsPreCompilationDeps), so core cannot borrow a Prisma or Express type.

/** Packages that must never reach src/core or src/menus (named so the message says why). */
const FRAMEWORK_PACKAGES = [
  "express",
  "pg",
  "@prisma/[^/]+",
  "@electric-sql/[^/]+",
  "pglite-prisma-adapter",
  "ioredis",
  "bullmq",
  "i18next",
  "smpp",
  "pino",
  "zod",
  "supertest",
];
const FRAMEWORK_RE = `(^|/)node_modules/(${FRAMEWORK_PACKAGES.join("|")})(/|$)|^(${FRAMEWORK_PACKAGES.join("|")})(/|$)`;

/**
 * npm packages that src/core and src/menus may import. Empty on purpose: the domain uses
 * node: builtins only. Add a package here (as a regex on its node_modules path) only after review.
 */
const DOMAIN_NPM_ALLOW_LIST = [
  // Pure data and functions (the ITU numbering plan), no I/O: the directory normalizes MSISDNs with it.
  "(^|/)node_modules/libphonenumber-js/",
];

const CHANNELS = "ussd|sms|ivr";
const OUTER_LAYERS = `^src/(infra|http|${CHANNELS})/|^src/(main|cli)[.]ts$`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "core-not-to-outer-layers",
      comment: "src/core is the domain: it declares ports and must not import infra, http, menus, channels or the composition root.",
      severity: "error",
      from: { path: "^src/core/" },
      to: { path: [OUTER_LAYERS, "^src/menus/"] },
    },
    {
      name: "core-not-to-frameworks",
      comment: "src/core knows no framework (no Prisma, pg, Express, Redis, BullMQ, i18next, SMPP, pino, zod).",
      severity: "error",
      from: { path: "^src/core/" },
      to: { path: FRAMEWORK_RE },
    },
    {
      name: "menus-not-to-outer-layers",
      comment: "src/menus is channel-agnostic: it may use src/core but not infra, http, any channel or the composition root.",
      severity: "error",
      from: { path: "^src/menus/" },
      to: { path: OUTER_LAYERS },
    },
    {
      name: "menus-not-to-frameworks",
      comment: "src/menus returns message keys and commands; frameworks live in infra, http and the channels.",
      severity: "error",
      from: { path: "^src/menus/" },
      to: { path: FRAMEWORK_RE },
    },
    {
      name: "domain-only-node-builtins",
      comment: "src/core and src/menus may import node: builtins only (plus the reviewed, currently empty allow-list).",
      severity: "error",
      from: { path: "^src/(core|menus)/" },
      to: {
        dependencyTypes: ["npm", "npm-dev", "npm-optional", "npm-peer", "npm-bundled", "npm-no-pkg", "npm-unknown"],
        ...(DOMAIN_NPM_ALLOW_LIST.length > 0 ? { pathNot: DOMAIN_NPM_ALLOW_LIST } : {}),
      },
    },
    {
      name: "domain-not-to-unresolved-packages",
      comment: "An import in src/core or src/menus that is neither relative nor a node builtin (e.g. a package not installed) is forbidden.",
      severity: "error",
      from: { path: "^src/(core|menus)/" },
      to: { couldNotResolve: true },
    },
    {
      name: "channel-not-to-other-channel",
      comment: "Channels (ussd, sms, ivr) never import each other; shared behaviour belongs in menus or core.",
      severity: "error",
      from: { path: `^src/(${CHANNELS})/` },
      to: { path: `^src/(${CHANNELS})/`, pathNot: "^src/$1/" },
    },
    {
      name: "no-circular",
      comment: "Import cycles make initialisation order fragile; break them with a port or a smaller module.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "not-to-unresolvable",
      comment: "This import cannot be resolved to a file: add the package to package.json or fix the path.",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: "no-non-package-json",
      comment: "This package is not declared in package.json, so production may not have it.",
      severity: "error",
      from: {},
      to: { dependencyTypes: ["npm-no-pkg", "npm-unknown"] },
    },
    {
      name: "src-not-to-dev-dep",
      comment: "Code in src ships to production (`npm ci --omit=dev`), so it must not import devDependencies at runtime.",
      severity: "error",
      from: { path: "^src/" },
      to: {
        dependencyTypes: ["npm-dev"],
        dependencyTypesNot: ["type-only"],
        pathNot: ["node_modules/@types/"],
      },
    },
    {
      name: "src-not-to-tests",
      comment: "Production code must not depend on tests, test helpers or benchmarks.",
      severity: "error",
      from: { path: "^src/" },
      to: { path: ["^test/", "^bench/", "[.](spec|test)[.][cm]?[jt]s$"] },
    },
    {
      name: "no-deprecated-core",
      comment: "A deprecated node builtin; use its replacement.",
      severity: "error",
      from: {},
      to: { dependencyTypes: ["core"], path: ["^(node:)?(punycode|domain|constants|sys|_linklist|_stream_wrap)$"] },
    },
  ],
  options: {
    doNotFollow: { path: ["node_modules"] },
    // The Prisma client is generated (git-ignored); cruise into it for resolution but don't judge it.
    exclude: { path: ["^src/infra/db/generated/"] },
    moduleSystems: ["es6", "cjs"],
    // Count `import type` too: core must not even borrow a framework's types.
    tsPreCompilationDeps: true,
    // Resolution follows tsconfig.json (NodeNext). Relative imports end in `.js`; dependency-cruiser
    // retries such an import as .ts/.tsx/.d.ts when the .js file does not exist, as tsc does
    // (enhanced-resolve's extensionAlias is not exposed in its config schema).
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".d.ts", ".js", ".mjs", ".cjs", ".json"],
      mainFields: ["module", "main", "types", "typings"],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
