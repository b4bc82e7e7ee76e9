// An institution and its customers made through the real core services, as integration tests of
// payments, agents and receipts need them.
import type { Customer } from "../../src/core/directory/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import type { Ledger } from "../../src/core/ledger/ledger.js";
import type { SqlExecutor } from "../../src/infra/db/sql.js";
import type { CoreServices } from "../../src/services.js";

export const SYSTEM = { actorType: "system" as const, actorId: "test", channel: "system" as const };

/** A KES institution in Nairobi whose numbers default to Kenya, and its bank account to fund wallets from. */
export async function openKenyanInstitution(
  db: SqlExecutor,
  services: CoreServices,
  ledger: Pick<Ledger, "createAccount">,
  code: string,
  name: string,
): Promise<{ institutionId: string; bankAccountId: string }> {
  const institutionId = uuidv7();
  await db.query("INSERT INTO institutions (id, code, name, currency, timezone) VALUES ($1, $2, $3, 'KES', 'Africa/Nairobi')", [institutionId, code, name]);
  const configured = await services.directory.setDefaultCountry(SYSTEM, institutionId, "KE");
  if (!configured.ok) throw new Error(configured.code);
  const bank = await ledger.createAccount({ institutionId, currency: "KES", kind: "bank" });
  return { institutionId, bankAccountId: bank.id };
}

/** A customer registered by the system, who then set their PIN over USSD. */
export async function registerWithPin(
  services: CoreServices,
  institutionId: string,
  customer: { msisdn: string; name: string; pin: string; language?: string },
): Promise<Customer> {
  const made = await services.directory.register(SYSTEM, { institutionId, msisdn: customer.msisdn, displayName: customer.name, language: customer.language });
  if (!made.ok) throw new Error(made.code);
  const c = made.value;
  const set = await services.pins.setPin({ actor: { type: "customer", id: c.id }, channel: "ussd", subjectId: c.id, msisdn: c.msisdn, pin: customer.pin });
  if (!set.ok) throw new Error(set.code);
  return c;
}
