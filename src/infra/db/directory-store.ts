import {
  UniqueViolation,
  type AliasHolder,
  type Decision,
  type DirectoryChange,
  type DirectoryStore,
  type PayeeRecord,
  type UniqueRule,
} from "../../core/directory/ports.js";
import type {
  Alias,
  Customer,
  CustomerProfile,
  CustomerStatus,
  InstitutionProfile,
  Instrument,
  InstrumentKind,
  KycTier,
  Language,
} from "../../core/directory/types.js";
import { MAX_ALIAS_NAMES_PER_CUSTOMER } from "../../core/directory/types.js";
import { Prisma } from "./generated/client.js";
import type {
  Customer as CustomerRow,
  CustomerAlias as AliasRow,
  PaymentInstrument as InstrumentRow,
} from "./generated/client.js";
import type { PrismaClient } from "./prisma.js";
import { BatchedRead } from "./batched-read.js";
import type { SqlExecutor } from "./sql.js";

type Tx = Prisma.TransactionClient;

/** Unique indexes of the directory migration and the rule each one enforces. */
const UNIQUE_RULES: Record<string, UniqueRule> = {
  customers_msisdn_key: "msisdn",
  customer_aliases_pkey: "alias",
  // Another alias with the same letters and digits ("mamajane" when "mama.jane" is held): taken.
  customer_aliases_alias_skeleton_key: "alias",
  // A look-alike of one held ("j0hn" when "john" is held; migration 20261206000000): taken too.
  customer_aliases_alias_lookalike_key: "alias",
  payment_instruments_customer_id_alias_key: "instrument_alias",
  payment_instruments_customer_id_is_default_key: "default_instrument",
};

// Interactive transactions hold one customer's row lock for a few statements; waiting behind
// another writer of the same customer (or for a pooled connection) should take milliseconds.
const TX_OPTIONS = { maxWait: 5_000, timeout: 10_000 };

const PROFILE_INCLUDE = {
  // Held ones only: a released alias in quarantine is no longer the customer's (nor counted).
  aliases: { where: { releasedAt: null }, orderBy: [{ createdAt: "asc" }, { aliasKey: "asc" }] },
  instruments: { orderBy: [{ createdAt: "asc" }, { id: "asc" }] },
} satisfies Prisma.CustomerInclude;

// The reads every USSD hop makes (who is calling, who is paid), as plain SQL on the pool: through
// Prisma each cost several times the CPU of the query itself (docs/architecture.md, "USSD hop cost").
const CUSTOMER_COLUMNS = `id, institution_id AS "institutionId", msisdn, display_name AS "displayName", language, kyc_tier AS "kycTier",
  status, wallet_account_id AS "walletAccountId", created_at AS "createdAt", awaiting_first_pin AS "awaitingFirstPin"`;
const CUSTOMER_BY_ID = `SELECT ${CUSTOMER_COLUMNS} FROM customers WHERE id = $1::uuid`;
const CUSTOMER_BY_MSISDN = `SELECT ${CUSTOMER_COLUMNS} FROM customers WHERE msisdn = $1`;
// The customer, their default instrument's account (NULL when none) and the accounts of their
// other wallets (for their balance cap, which binds all their wallets together), in one round trip.
const PAYEE_COLUMNS = `c.id, c.institution_id AS "institutionId", c.msisdn, c.display_name AS "displayName", c.language,
  c.kyc_tier AS "kycTier", c.status, c.wallet_account_id AS "walletAccountId", c.created_at AS "createdAt",
  (SELECT i.account_id FROM payment_instruments i WHERE i.customer_id = c.id AND i.is_default = TRUE) AS "defaultAccountId",
  ARRAY(SELECT i.account_id::text FROM payment_instruments i WHERE i.customer_id = c.id AND i.kind = 'wallet' AND i.is_default IS NOT TRUE
    ORDER BY i.created_at, i.id) AS "otherWalletAccountIds"`;
const PAYEE_BY_MSISDN = `SELECT ${PAYEE_COLUMNS} FROM customers c WHERE c.msisdn = $1`;
// The alias as typed, or else the one spelled with other separators ("mama_jane" finds "mama.jane"):
// one alias per skeleton (migration 20261129030000), but the exact key first, for an alias held
// before that rule beside an older one of the same skeleton.
// A released alias (in quarantine, migration 20261206010000) is nobody's to be paid.
const PAYEE_BY_ALIAS = `SELECT ${PAYEE_COLUMNS} FROM customer_aliases a JOIN customers c ON c.id = a.customer_id
  WHERE a.released_at IS NULL AND (a.alias_key = $1 OR a.alias_skeleton = regexp_replace($1, '[._-]', '', 'g'))
  ORDER BY a.alias_key = $1 DESC LIMIT 1`;

// The rows a claim of $1 would collide with: its key, its separator skeleton or its look-alike
// skeleton (alias_lookalike, the SQL function the trigger uses: one definition of the fold).
const ALIAS_HOLDERS = `SELECT alias_key AS "aliasKey", customer_id AS "customerId",
  (alias_key = $1 OR alias_skeleton = regexp_replace($1, '[._-]', '', 'g')) AS "sameSkeleton", released_at AS "releasedAt"
  FROM customer_aliases WHERE alias_key = $1 OR alias_skeleton = regexp_replace($1, '[._-]', '', 'g') OR alias_lookalike = alias_lookalike($1)`;

// Before a claim, in its transaction: the released rows in its way that the claimant may take
// ($2, their own) or whose quarantine is over (released at or before $3).
const FREE_RELEASED = `DELETE FROM customer_aliases WHERE released_at IS NOT NULL AND (customer_id = $2::uuid OR released_at <= $3::timestamptz)
  AND (alias_key = $1 OR alias_skeleton = regexp_replace($1, '[._-]', '', 'g') OR alias_lookalike = alias_lookalike($1))`;

// A payer's instruments, for the send flow's choice and the payment's debit account.
const INSTRUMENTS_OF = `SELECT id, customer_id AS "customerId", kind, alias, account_id AS "accountId", external_ref_last4 AS "externalRefLast4",
  is_default AS "isDefault", created_at AS "createdAt" FROM payment_instruments WHERE customer_id = $1::uuid ORDER BY created_at, id`;

type PayeeSqlRow = CustomerSqlRow & { defaultAccountId: string | null; otherWalletAccountIds: string[] };
type CustomerSqlRow = Pick<CustomerRow, "id" | "institutionId" | "msisdn" | "displayName" | "language" | "kycTier" | "status" | "walletAccountId" | "createdAt">
  & Partial<Pick<CustomerRow, "awaitingFirstPin">>;

/**
 * The directory's tables through the Prisma client; raw SQL only for the row lock Prisma cannot
 * take, and (given `sql`, the same database's pool) for the hot single-row reads.
 */
export class PrismaDirectoryStore implements DirectoryStore {
  private readonly reads: Record<"customerById" | "customerByMsisdn" | "payeeByMsisdn" | "payeeByAlias", BatchedRead<PayeeSqlRow>>;
  private readonly instrumentsOf: BatchedRead<InstrumentRow>;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly sql: SqlExecutor,
  ) {
    // The hot reads in plain SQL, and hops in flight together share their round trips (src/infra/db/batched-read.ts).
    this.reads = {
      customerById: new BatchedRead(sql, CUSTOMER_BY_ID, 1),
      customerByMsisdn: new BatchedRead(sql, CUSTOMER_BY_MSISDN, 1),
      payeeByMsisdn: new BatchedRead(sql, PAYEE_BY_MSISDN, 1),
      payeeByAlias: new BatchedRead(sql, PAYEE_BY_ALIAS, 1),
    };
    this.instrumentsOf = new BatchedRead(sql, INSTRUMENTS_OF, 1);
  }

  async getInstitution(institutionId: string): Promise<InstitutionProfile | null> {
    const [institution, settings] = await Promise.all([
      this.prisma.institution.findUnique({ where: { id: institutionId }, select: { id: true, currency: true } }),
      this.prisma.directorySettings.findUnique({ where: { institutionId } }),
    ]);
    return institution ? { ...institution, defaultCountry: settings?.defaultCountry ?? null } : null;
  }

  async setDefaultCountry(institutionId: string, country: string): Promise<void> {
    await this.prisma.directorySettings.upsert({
      where: { institutionId },
      create: { institutionId, defaultCountry: country },
      update: { defaultCountry: country },
    });
  }

  async insertCustomer(customer: Customer, wallet: Instrument): Promise<void> {
    await translateUnique(() =>
      this.prisma.customer.create({
        data: { ...customer, instruments: { create: instrumentData(wallet) } },
      }),
    );
  }

  getCustomer(customerId: string): Promise<Customer | null> {
    return this.sqlCustomer(this.reads.customerById, customerId);
  }

  findCustomerByMsisdn(msisdn: string): Promise<Customer | null> {
    return this.sqlCustomer(this.reads.customerByMsisdn, msisdn);
  }

  loadProfile(customerId: string): Promise<CustomerProfile | null> {
    return loadProfile(this.prisma, customerId);
  }

  async listInstruments(customerId: string): Promise<Instrument[]> {
    return (await this.instrumentsOf.query([customerId])).map(toInstrument);
  }

  updateCustomer<T>(customerId: string, decide: (profile: CustomerProfile | null) => Decision<T>): Promise<Decision<T>> {
    return translateUnique(() =>
      this.prisma.$transaction(async (tx) => {
        // Serializes all writers of one customer, so limits (5 aliases, 10 names with those released
        // in quarantine) and the single default instrument are decided on a profile nobody else is changing.
        const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM customers WHERE id = ${customerId}::uuid FOR UPDATE`;
        const decision = decide(locked.length > 0 ? await loadProfile(tx, customerId) : null);
        if (decision.ok) for (const change of decision.changes) await applyChange(tx, customerId, change);
        return decision;
      }, TX_OPTIONS),
    );
  }

  findPayeeByMsisdn(msisdn: string): Promise<PayeeRecord | null> {
    return this.sqlPayee(this.reads.payeeByMsisdn, msisdn);
  }

  findPayeeByAlias(aliasKey: string): Promise<PayeeRecord | null> {
    return this.sqlPayee(this.reads.payeeByAlias, aliasKey);
  }

  async findAliasHolders(aliasKey: string): Promise<AliasHolder[]> {
    return (await this.sql.query<AliasHolder>(ALIAS_HOLDERS, [aliasKey])).rows;
  }

  private async sqlCustomer(read: BatchedRead<CustomerSqlRow>, key: string): Promise<Customer | null> {
    const [row] = await read.query([key]);
    return row ? toCustomer(row) : null;
  }

  private async sqlPayee(read: BatchedRead<PayeeSqlRow>, key: string): Promise<PayeeRecord | null> {
    const [row] = await read.query([key]);
    if (!row) return null;
    return toPayee(row);
  }
}

async function loadProfile(db: Tx | PrismaClient, customerId: string): Promise<CustomerProfile | null> {
  const row = await db.customer.findUnique({ where: { id: customerId }, include: PROFILE_INCLUDE });
  if (!row) return null;
  // The most recently released first, no more than the cap: that many still in quarantine refuse
  // any new name already, and released rows out of quarantine may pile up over the years.
  const released = await db.customerAlias.findMany({
    where: { customerId, releasedAt: { not: null } },
    orderBy: [{ releasedAt: "desc" }, { aliasKey: "asc" }],
    take: MAX_ALIAS_NAMES_PER_CUSTOMER,
    select: { aliasKey: true, aliasSkeleton: true, aliasLookalike: true, releasedAt: true },
  });
  return {
    customer: toCustomer(row),
    aliases: row.aliases.map(toAlias),
    instruments: row.instruments.map(toInstrument),
    releasedAliases: released.map((r) => ({ ...r, releasedAt: r.releasedAt! })),
  };
}

/** Every write is scoped to the locked customer, so a decision can never touch another's rows. */
async function applyChange(tx: Tx, customerId: string, change: DirectoryChange): Promise<void> {
  switch (change.type) {
    case "update_customer":
      await tx.customer.update({ where: { id: customerId }, data: change.patch });
      return;
    case "add_alias":
      await tx.$executeRawUnsafe(FREE_RELEASED, change.alias.aliasKey, customerId, change.freeReleasedBefore);
      await tx.customerAlias.create({ data: { ...change.alias, customerId } });
      return;
    case "release_alias":
      await tx.customerAlias.updateMany({ where: { aliasKey: change.aliasKey, customerId, releasedAt: null }, data: { releasedAt: change.at } });
      return;
    case "add_instrument":
      await tx.paymentInstrument.create({ data: { ...instrumentData(change.instrument), customerId } });
      return;
    case "rename_instrument":
      await tx.paymentInstrument.updateMany({ where: { id: change.instrumentId, customerId }, data: { alias: change.alias } });
      return;
    case "set_default_instrument":
      // Two statements in this order: the unique (customer_id, is_default) index is checked per row.
      await tx.paymentInstrument.updateMany({ where: { customerId, isDefault: true }, data: { isDefault: null } });
      await tx.paymentInstrument.updateMany({ where: { id: change.instrumentId, customerId }, data: { isDefault: true } });
      return;
    case "remove_instrument":
      await tx.paymentInstrument.deleteMany({ where: { id: change.instrumentId, customerId } });
      return;
  }
}

function instrumentData(instrument: Instrument) {
  const { customerId: _customerId, isDefault, ...rest } = instrument;
  // TRUE or NULL, never FALSE: see the (customer_id, is_default) index in the migration.
  return { ...rest, isDefault: isDefault ? true : null };
}

/** Runs fn; a unique violation of a directory index becomes UniqueViolation, anything else passes through. */
async function translateUnique<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const rule = uniqueRuleOf(error);
    throw rule ? new UniqueViolation(rule) : error;
  }
}

function uniqueRuleOf(error: unknown): UniqueRule | null {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError) || error.code !== "P2002") return null;
  // The adapters differ in how they name the index (pg: constraint.index, PGlite: fields), but
  // both pass PostgreSQL's own message through, which names it.
  const cause = (error.meta?.driverAdapterError as { cause?: { originalMessage?: string } } | undefined)?.cause;
  const name = /unique constraint "([^"]+)"/.exec(cause?.originalMessage ?? error.message)?.[1];
  return name ? (UNIQUE_RULES[name] ?? null) : null;
}

function toCustomer(row: CustomerSqlRow): Customer {
  return {
    id: row.id,
    institutionId: row.institutionId,
    msisdn: row.msisdn,
    displayName: row.displayName,
    // The migration's CHECK constraints hold these to the core's value sets.
    language: row.language as Language,
    kycTier: row.kycTier as KycTier,
    status: row.status as CustomerStatus,
    walletAccountId: row.walletAccountId,
    createdAt: new Date(row.createdAt),
    // Only where read (a customer by id or number), and only when set: most customers never have it.
    ...(row.awaitingFirstPin === true ? { awaitingFirstPin: true } : {}),
  };
}

function toAlias(row: AliasRow): Alias {
  return { alias: row.alias, aliasKey: row.aliasKey, customerId: row.customerId, createdAt: row.createdAt };
}

function toInstrument(row: InstrumentRow): Instrument {
  return {
    id: row.id,
    customerId: row.customerId,
    kind: row.kind as InstrumentKind,
    alias: row.alias,
    accountId: row.accountId,
    externalRefLast4: row.externalRefLast4,
    isDefault: row.isDefault === true,
    createdAt: row.createdAt,
  };
}

function toPayee(row: PayeeSqlRow): PayeeRecord {
  // Every customer has a default instrument; the wallet is the fallback should that ever not hold.
  // A driver that returned the array as its text literal would be a bug to find here, not a cap to lose.
  if (!Array.isArray(row.otherWalletAccountIds)) throw new Error("payee lookup: otherWalletAccountIds is not an array");
  return { customer: toCustomer(row), defaultAccountId: row.defaultAccountId ?? row.walletAccountId, otherWalletAccountIds: row.otherWalletAccountIds };
}
