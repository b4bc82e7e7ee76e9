// The real agent store with a fault at the moment a cash-out request's record is written, before
// the ledger is asked: the call dies there, or stalls there until the test lets it go.
import type { CashOutAdmission, CashOutInsert, CashOutRecord } from "../../src/core/agents/ports.js";
import { SqlAgentStore } from "../../src/infra/db/agent-store.js";

/** The real store; the call dies right after its record is written, before the ledger is asked. */
export class DiesAfterRecord extends SqlAgentStore {
  override async insertCashOut(r: CashOutRecord, admission: CashOutAdmission): Promise<CashOutInsert> {
    await super.insertCashOut(r, admission);
    throw new Error("the process died here");
  }
}

/** The real store; the call stalls right after its record is written (a slow process, a stuck connection) until let go. */
export class StallsAfterRecord extends SqlAgentStore {
  readonly written: Promise<void>;
  private wrote!: () => void;
  private go!: () => void;
  private readonly gate = new Promise<void>((r) => (this.go = r));

  constructor(...args: ConstructorParameters<typeof SqlAgentStore>) {
    super(...args);
    this.written = new Promise<void>((r) => (this.wrote = r));
  }

  letGo(): void {
    this.go();
  }

  override async insertCashOut(r: CashOutRecord, admission: CashOutAdmission): Promise<CashOutInsert> {
    const inserted = await super.insertCashOut(r, admission);
    this.wrote();
    await this.gate;
    return inserted;
  }
}
