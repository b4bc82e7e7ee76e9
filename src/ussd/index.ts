/** The USSD channel's public surface. */
export { ussdRouter, type AggregatorConfig, type UssdDialect, type UssdRouterDeps } from "./router.js";
export { HopProcessor } from "./hop.js";
export { DEFAULT_HOP_LIMITS, type HopDeps, type HopLimits, type HopLogger } from "./hop-types.js";
