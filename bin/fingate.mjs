#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx's loader, so `node bin/fingate.mjs` works from a checkout
// without a build step. The Docker image runs the compiled dist/src/cli.js instead.
import { register } from "tsx/esm/api";

register();
await import("../src/cli.ts");
