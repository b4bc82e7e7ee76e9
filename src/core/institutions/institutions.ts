import { actorOf, type Principal } from "../access/types.js";
import { isUuid, uuidv7 } from "../ledger/ids.js";
import { isLanguage } from "../directory/types.js";
import { isValidTimeZone } from "../limits/periods.js";
import { DEFAULT_LIMIT_UNIT_MINOR } from "../limits/security-levels.js";
import type { InstitutionStore } from "./ports.js";
import { newAccount } from "../ledger/ledger.js";
import type { Account } from "../ledger/types.js";
import { systemAccountInput, type SystemAccountLedger } from "./system-accounts.js";
import { CURRENCY_RE, INSTITUTION_CODE_RE, MAX_INSTITUTION_NAME_CHARS, type Institution } from "./types.js";

export interface NewInstitution {
  code: string;
  name: string;
  currency: string;
  timezone: string;
  /** Defaults to English. */
  language?: string;
  /** Minor units of the currency to one limit unit (Institution.limitUnitMinor); defaults to 100. */
  limitUnitMinor?: bigint;
}

export type CreateInstitutionResult =
  | { ok: true; institution: Institution }
  | { ok: false; code: "invalid_institution" | "invalid_timezone" | "invalid_language" | "institution_code_taken" };

export type SetLanguageResult = { ok: true; institution: Institution } | { ok: false; code: "invalid_language" | "institution_not_found" };
export type SetLimitUnitResult = { ok: true; institution: Institution } | { ok: false; code: "invalid_limit_unit" | "institution_not_found" };


export interface InstitutionsDeps {
  store: InstitutionStore;
  ledger: SystemAccountLedger;
  now?: () => Date;
}

const MAX_PAGE = 200;
/** A limit unit above this would put the largest ceiling (a month's, 6,000,000 units) near bigint's end. */
export const MAX_LIMIT_UNIT_MINOR = 1_000_000_000n;

/** The system accounts an institution opens with: fee income and the bank's operating account. */
export function institutionAccounts(institution: Pick<Institution, "id" | "currency">): Account[] {
  return [systemAccountInput(institution, { kind: "fee_income" }), systemAccountInput(institution, { kind: "bank" })].map(newAccount);
}

/** Institutions are created by the platform operator; banks only read their own. */
export class Institutions {
  private readonly now: () => Date;

  constructor(private readonly deps: InstitutionsDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async create(by: Principal, input: NewInstitution): Promise<CreateInstitutionResult> {
    const name = input.name.trim();
    if (!INSTITUTION_CODE_RE.test(input.code) || !CURRENCY_RE.test(input.currency)) return { ok: false, code: "invalid_institution" };
    if (name.length === 0 || name.length > MAX_INSTITUTION_NAME_CHARS) return { ok: false, code: "invalid_institution" };
    if (!(await this.knowsTimeZone(input.timezone))) return { ok: false, code: "invalid_timezone" };
    const language = input.language ?? "en";
    if (!isLanguage(language)) return { ok: false, code: "invalid_language" };
    const { currency, timezone } = input;
    const limitUnitMinor = input.limitUnitMinor ?? DEFAULT_LIMIT_UNIT_MINOR;
    if (typeof limitUnitMinor !== "bigint" || limitUnitMinor < 1n || limitUnitMinor > MAX_LIMIT_UNIT_MINOR) return { ok: false, code: "invalid_institution" };
    const institution: Institution = { id: uuidv7(), code: input.code, name, currency, timezone, language, limitUnitMinor, createdAt: this.now() };
    const entry = {
      ...actorOf(by),
      action: "admin.institution.create",
      channel: "admin" as const,
      outcome: "ok" as const,
      subject: institution.id,
      payload: { before: null, after: { ...institution, limitUnitMinor: institution.limitUnitMinor.toString(), createdAt: undefined } },
    };
    // Opened now rather than on first use, so that reports and fees find them from day one; with
    // the row, in its transaction: written after it, a failure between left an institution without
    // them, and the operator's retry was refused (code taken) and never opened them.
    if (!(await this.deps.store.insert(institution, [entry], institutionAccounts(institution)))) return { ok: false, code: "institution_code_taken" };
    return { ok: true, institution };
  }

  /** A zone both the runtime and the database know: what an institution or a report may name. */
  async knowsTimeZone(timeZone: string): Promise<boolean> {
    return isValidTimeZone(timeZone) && this.deps.store.knowsTimeZone(timeZone);
  }

  /** The language of menus and messages for its customers who have not chosen one (new numbers first of all). */
  async setLanguage(by: Principal, id: string, language: string): Promise<SetLanguageResult> {
    if (!isLanguage(language)) return { ok: false, code: "invalid_language" };
    const before = await this.get(id);
    if (!before) return { ok: false, code: "institution_not_found" };
    const entry = {
      ...actorOf(by),
      action: "admin.institution.set_language",
      channel: "admin" as const,
      outcome: "ok" as const,
      subject: id,
      payload: { before: { language: before.language }, after: { language } },
    };
    if (!(await this.deps.store.setLanguage(id, language, [entry]))) return { ok: false, code: "institution_not_found" };
    return { ok: true, institution: { ...before, language } };
  }

  /**
   * The platform corrects an institution's limit unit (set at creation): the security levels'
   * ceilings scale with it at once (within the read caches' TTL), and a bank's own limits above a
   * lowered ceiling are held to it, as they would be if set so.
   */
  async setLimitUnit(by: Principal, id: string, limitUnitMinor: bigint): Promise<SetLimitUnitResult> {
    if (typeof limitUnitMinor !== "bigint" || limitUnitMinor < 1n || limitUnitMinor > MAX_LIMIT_UNIT_MINOR) return { ok: false, code: "invalid_limit_unit" };
    const before = await this.get(id);
    if (!before) return { ok: false, code: "institution_not_found" };
    const entry = {
      ...actorOf(by),
      action: "admin.institution.set_limit_unit",
      channel: "admin" as const,
      outcome: "ok" as const,
      subject: id,
      payload: { before: { limitUnitMinor: before.limitUnitMinor.toString() }, after: { limitUnitMinor: limitUnitMinor.toString() } },
    };
    if (!(await this.deps.store.setLimitUnit(id, limitUnitMinor, [entry]))) return { ok: false, code: "institution_not_found" };
    return { ok: true, institution: { ...before, limitUnitMinor } };
  }

  get(id: string): Promise<Institution | null> {
    return isUuid(id) ? this.deps.store.get(id) : Promise.resolve(null);
  }

  list(limit = 50, after?: string): Promise<Institution[]> {
    return this.deps.store.list(Math.min(Math.max(1, Math.trunc(limit)), MAX_PAGE), after);
  }
}
