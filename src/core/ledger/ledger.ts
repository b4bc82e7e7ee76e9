import { derivedUuid, isUuid, uuidv7 } from "./ids.js";
import type { LedgerStore, TransferPage } from "./ports.js";
import {
  ACCOUNT_KINDS,
  type Account,
  type NewAccount,
  type Transfer,
  type TransferFailure,
  type TransferInput,
  type TransferResult,
} from "./types.js";
import { BatchingWriter, type WriterOptions } from "./writer.js";

export class InvalidAccount extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidAccount";
  }
}

const MAX_PAGE = 100;
const CURRENCY_RE = /^[A-Z]{3}$/;

/** The ledger's use cases. Money moves only through submit(); everything else reads. */
export class Ledger {
  readonly writer: BatchingWriter;

  constructor(
    private readonly store: LedgerStore,
    writerOptions: Partial<WriterOptions> = {},
  ) {
    this.writer = new BatchingWriter(store, writerOptions);
  }

  async createAccount(input: NewAccount): Promise<Account> {
    const [account] = await this.createAccounts([input]);
    return account!;
  }

  async createAccounts(inputs: NewAccount[]): Promise<Account[]> {
    const accounts = inputs.map(newAccount);
    await this.store.createAccounts(accounts);
    return accounts;
  }

  /** One transfer; its result code says whether money moved (`ok`) or already had (`exists`). */
  transfer(input: TransferInput): Promise<TransferResult> {
    return this.writer.submitOne(input);
  }

  /** Several transfers applied all-or-nothing, such as a payment and its fee. */
  submitLinked(inputs: TransferInput[]): Promise<TransferResult[]> {
    return this.writer.submit(inputs);
  }

  /**
   * For a caller that cannot tell whether transfer `id` was written (its submission threw: a
   * dropped connection or a timeout, where the write or its COMMIT may still land after the error
   * was seen, so a read that finds nothing proves nothing): settles it for good, in a batch of the
   * ledger's own. Unless a transfer of that id is in the ledger, the id is recorded as refused
   * (transfer_abandoned): a write of it still in flight is then refused when it comes (no id is both
   * a transfer and a failure, checked under the audit head that every write holds to its COMMIT),
   * and a retry of it too. True when the id is refused for good (now or before: it never posts);
   * false when it posted. A throw is no answer: the outcome is still unknown.
   *
   * The answer is "exists" for a posted transfer and the recorded result for a recorded refusal,
   * which for a member of a refused linked group is linked_event_failed: not one of the
   * RECORDED_FAILURES causes, but recorded all the same, so that id never posts either (it was
   * read as posted, and a SIM-swap allowance taken for it was kept).
   */
  async abandon(id: string): Promise<boolean> {
    const r = await this.writer.submitOne({ id, code: "abandoned", abandon: true });
    return r.result !== "exists";
  }

  async getAccount(id: string): Promise<Account | null> {
    if (!isUuid(id)) return null;
    const [account] = await this.store.getAccounts([id]);
    return account ?? null;
  }

  getAccounts(ids: string[]): Promise<Account[]> {
    return this.store.getAccounts(ids.filter(isUuid));
  }

  getTransfer(id: string): Promise<Transfer | null> {
    return isUuid(id) ? this.store.getTransfer(id) : Promise.resolve(null);
  }

  /**
   * The recorded failures among these ids: transfers the ledger refused for good (RECORDED_FAILURES,
   * and the other members of a group one refused, as linked_event_failed), in no particular order.
   * Unlike abandon, settles nothing: an id with no record may still be written by a call in flight.
   * A recorded failure is final: whatever comes under its id later is answered from it.
   */
  getFailures(ids: string[]): Promise<TransferFailure[]> {
    const valid = ids.filter(isUuid);
    return valid.length === 0 ? Promise.resolve([]) : this.store.getFailures(valid);
  }

  /** An account's transfers, newest first. */
  listAccountTransfers(accountId: string, page: Partial<TransferPage> = {}): Promise<Transfer[]> {
    if (!isUuid(accountId)) return Promise.resolve([]);
    const limit = Math.min(Math.max(1, Math.trunc(page.limit ?? 20)), MAX_PAGE);
    return this.store.listAccountTransfers(accountId, { limit, beforeSeq: page.beforeSeq });
  }

  /**
   * Voids pending transfers whose timeout has passed, releasing what they reserved. The void's id
   * is derived from the pending's, so several processes sweeping at once void each pending once.
   */
  async expirePendings(now = new Date(), limit = 1_000): Promise<number> {
    const due = await this.store.findExpiredPendings(now, limit);
    if (due.length === 0) return 0;
    const results = await Promise.all(
      due.map((p) =>
        this.transfer({
          id: derivedUuid(`fingate:expire:${p.id}`),
          kind: "void",
          pendingId: p.id,
          code: "expiry",
          expiry: true,
          expiryAsOf: now,
        }),
      ),
    );
    return results.filter((r) => r.result === "ok").length;
  }

  close(): Promise<void> {
    return this.writer.close();
  }
}

/** The account a NewAccount opens (checked, zero balances); what createAccounts writes. */
export function newAccount(input: NewAccount): Account {
  if (!isUuid(input.institutionId)) throw new InvalidAccount("institutionId must be a UUID");
  if (!CURRENCY_RE.test(input.currency)) throw new InvalidAccount("currency must be an ISO 4217 code such as KES");
  if (!ACCOUNT_KINDS.includes(input.kind)) throw new InvalidAccount(`kind must be one of ${ACCOUNT_KINDS.join(", ")}`);
  const flags = input.flags ?? 0;
  if (!Number.isInteger(flags) || flags < 0 || flags > 3) throw new InvalidAccount("flags must be 0..3");
  if (input.id !== undefined && !isUuid(input.id)) throw new InvalidAccount("id must be a UUID");
  return {
    id: input.id ?? uuidv7(),
    institutionId: input.institutionId,
    currency: input.currency,
    kind: input.kind,
    ownerRef: input.ownerRef ?? null,
    status: "active",
    flags,
    debitsPending: 0n,
    debitsPosted: 0n,
    creditsPending: 0n,
    creditsPosted: 0n,
  };
}
