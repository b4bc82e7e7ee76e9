/** The menus' public surface for channels and the composition root. */
import { MenuEngine } from "./engine/engine.js";
import { CUSTOMER_FLOWS } from "./flows/index.js";

export { MenuEngine, HOME_INPUT } from "./engine/engine.js";
export * from "./engine/types.js";
export type * from "./ports.js";
export { DEFAULT_MENU_LIMITS } from "./ports.js";

export function customerMenuEngine(): MenuEngine {
  return new MenuEngine(CUSTOMER_FLOWS);
}
