/** Builds the menu ports over the core services; the composition root calls this once. */
import type { PinService } from "../../core/auth/pin-service.js";
import type { SimSwapGuard } from "../../core/auth/sim-swap.js";
import type { Directory } from "../../core/directory/directory.js";
import type { Ledger } from "../../core/ledger/ledger.js";
import type { Payments } from "../../core/payments/payments.js";
import type { MenuContext } from "../ports.js";
import { CoreAgentsPort, type AgentsCore } from "./core-agents.js";
import { CorePaymentsPort } from "./core-payments.js";
import { CoreDirectoryPort, CorePinPort, CoreSimSwapPort, LedgerAccountsPort } from "./core-ports.js";
import { LedgerPaymentsPort } from "./ledger-payments.js";

export { CorePaymentsPort } from "./core-payments.js";
export { CoreAgentsPort, type AgentsCore } from "./core-agents.js";

export { AesGcmSealer } from "./sealer.js";
export { LedgerPaymentsPort } from "./ledger-payments.js";

export type MenuPorts = Pick<MenuContext, "directory" | "pins" | "accounts" | "payments" | "simSwap" | "agents">;

export interface MenuCoreServices {
  directory: Directory;
  pins: PinService;
  simSwap: SimSwapGuard;
  ledger: Ledger;
  /** The payments core (fees, limits); without it, the zero-fee, no-limit LedgerPaymentsPort stand-in. */
  payments?: Pick<Payments, "quoteP2P" | "sendP2P">;
  /** The agents core; without it the agent menu and cash withdrawal are not offered. */
  agents?: AgentsCore;
}

export function coreMenuPorts(core: MenuCoreServices): MenuPorts {
  const directory = new CoreDirectoryPort(core.directory, core.ledger);
  const pins = new CorePinPort(core.pins);
  return {
    directory,
    pins,
    // Balance hops in flight together read their wallets with one statement (src/infra/db/coalesced-account-reads.ts, composed in src/main.ts).
    accounts: new LedgerAccountsPort(core.ledger, core.directory),
    payments: core.payments ? new CorePaymentsPort(core.payments) : new LedgerPaymentsPort(core.ledger, directory, pins),
    simSwap: new CoreSimSwapPort(core.simSwap),
    ...(core.agents ? { agents: new CoreAgentsPort(core.agents, core.pins, core.ledger) } : {}),
  };
}
