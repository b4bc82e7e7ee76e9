/**
 * STOP / START: numbers that asked for no more notices. The outbound relay asks isOptedOut before
 * it sends a notice (see docs/sms.md); replies to a customer's own command are always sent.
 */
import type { SqlExecutor } from "../../infra/db/sql.js";

/** The port the outbound relay uses; the SQL store implements it. */
export interface OptOuts {
  isOptedOut(msisdn: string): Promise<boolean>;
}

export class SqlOptOuts implements OptOuts {
  constructor(private readonly db: SqlExecutor) {}

  async isOptedOut(msisdn: string): Promise<boolean> {
    const { rows } = await this.db.query("SELECT 1 FROM sms_opt_outs WHERE msisdn = $1", [msisdn]);
    return rows.length > 0;
  }

  async optOut(msisdn: string): Promise<void> {
    await this.db.query("INSERT INTO sms_opt_outs (msisdn) VALUES ($1) ON CONFLICT (msisdn) DO NOTHING", [msisdn]);
  }

  async optIn(msisdn: string): Promise<void> {
    await this.db.query("DELETE FROM sms_opt_outs WHERE msisdn = $1", [msisdn]);
  }
}
