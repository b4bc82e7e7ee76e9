import { derivedUuid } from "../ledger/ids.js";
import type { Account, AccountKind, NewAccount } from "../ledger/types.js";
import type { Institution } from "./types.js";

/**
 * The institution's own ledger accounts: where fees are earned, what the bank pays telcos from,
 * what it owes each telco. Their ids are derived from (institution, purpose), so every process
 * finds the same account without a lookup table, and two processes opening one at the same time
 * collide on the primary key instead of opening two.
 */
export type SystemAccountPurpose =
  | { kind: "fee_income" }
  /** The bank's operating account: pays session charges when the bank, not the customer, pays. */
  | { kind: "bank" }
  /** Where agent float comes from and returns to: the bank's cash position with its agents. */
  | { kind: "settlement" }
  | { kind: "telco_payable"; telcoId: string };

export function systemAccountId(institutionId: string, purpose: SystemAccountPurpose): string {
  return derivedUuid(`fingate:system-account:${institutionId}:${purposeName(purpose)}`);
}

const purposeName = (purpose: SystemAccountPurpose): string => (purpose.kind === "telco_payable" ? `telco_payable:${purpose.telcoId}` : purpose.kind);

/** The part of the ledger that opening system accounts needs; the Ledger facade satisfies it. */
export interface SystemAccountLedger {
  createAccount(input: NewAccount): Promise<Account>;
  getAccount(id: string): Promise<Account | null>;
}

// Per ledger, the system accounts known to exist or being opened, by institution and purpose → its
// id: every payment, metered session and agent operation asks for one, and once it exists it always
// will (accounts are never deleted) under the same id (derived). An open under way is shared: the
// first payments after a start arrive together, and each trying its own insert left the database a
// failed statement (and an error in its log) per caller. A failed open is forgotten, to be tried
// afresh by the next caller. Bounded; the oldest entry goes first.
const known = new WeakMap<SystemAccountLedger, Map<string, Promise<string>>>();
const MAX_KNOWN = 10_000;

/** The id of the account for purpose, opened on first use; looked up once per ledger and purpose. */
export function ensureSystemAccount(
  ledger: SystemAccountLedger,
  institution: Pick<Institution, "id" | "currency">,
  purpose: SystemAccountPurpose,
): Promise<string> {
  let ids = known.get(ledger);
  if (!ids) known.set(ledger, (ids = new Map()));
  const key = `${institution.id}:${purposeName(purpose)}`;
  const hit = ids.get(key);
  if (hit) return hit;
  const opened = openSystemAccount(ledger, institution, purpose).then(({ id }) => id);
  opened.catch(() => ids.get(key) === opened && ids.delete(key));
  if (ids.size >= MAX_KNOWN) ids.delete(ids.keys().next().value!);
  ids.set(key, opened);
  return opened;
}

/** What opening the account for purpose asks of the ledger. */
export function systemAccountInput(institution: Pick<Institution, "id" | "currency">, purpose: SystemAccountPurpose): NewAccount & { id: string } {
  const kind: AccountKind = purpose.kind;
  const ownerRef = purpose.kind === "telco_payable" ? purpose.telcoId : institution.id;
  return { id: systemAccountId(institution.id, purpose), institutionId: institution.id, currency: institution.currency, kind, ownerRef };
}

async function openSystemAccount(ledger: SystemAccountLedger, institution: Pick<Institution, "id" | "currency">, purpose: SystemAccountPurpose): Promise<Account> {
  const input = systemAccountInput(institution, purpose);
  const id = input.id;
  const existing = await ledger.getAccount(id);
  if (existing) return existing;
  try {
    return await ledger.createAccount(input);
  } catch (error) {
    // A concurrent caller opened it first (primary key): use theirs. Anything else is an outage.
    const opened = await ledger.getAccount(id);
    if (opened) return opened;
    throw error;
  }
}
