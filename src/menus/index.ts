/** The menus' public surface for channels and the composition root. */
import { MenuEngine } from "./engine/engine.js";
import { AGENT_CHOICES, CUSTOMER_FLOWS, MAIN_CHOICES } from "./flows/index.js";

export { MenuEngine, HOME_INPUT, MAX_SHORTCUT_SEGMENTS } from "./engine/engine.js";
export * from "./engine/types.js";
export type * from "./ports.js";
export { DEFAULT_MENU_LIMITS } from "./ports.js";
export { movesMoney, writesState } from "./flows/index.js";
export { dialSegments, shortcutOf } from "./engine/dial-string.js";
export { asciiDigits } from "./engine/digits.js";

/** Customers' and agents' menus (the engine picks by the caller's number). */
export function customerMenuEngine(): MenuEngine {
  return new MenuEngine(CUSTOMER_FLOWS, { customer: MAIN_CHOICES, agent: AGENT_CHOICES });
}
