/**
 * Configured SMS links (sms_links, the link manager, the admin) on an outbox test's database, for
 * tests of the outbound pipeline across configuration changes: client links to test SMSCs.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { SmsLinkAdmin } from "../../src/sms/links/link-admin.js";
import { SmsLinkManager } from "../../src/sms/links/link-manager.js";
import { SqlLinkStore } from "../../src/sms/links/link-store.js";
import { LinkPasswordSealer } from "../../src/sms/links/secrets.js";
import type { LinkUpdate, LinkConfig } from "../../src/sms/links/types.js";
import type { SqlDb } from "../../src/infra/db/sql.js";
import { SMSC_PASSWORD } from "./sms-outbox-smsc.js";

export const LINK_OPERATOR = { actorType: "operator" as const, actorId: "test" };

export interface LinkRig {
  manager: SmsLinkManager;
  admin: SmsLinkAdmin;
  /** A client link to the test SMSC on `port` reaching `prefix`. */
  addClient(id: string, port: number, prefix: string): Promise<void>;
  /** Changes a link's configuration (the manager restarts it); resolves once applied. */
  update(id: string, change: Partial<LinkUpdate>): Promise<void>;
  remove(id: string): Promise<void>;
  close(): Promise<void>;
}

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

export async function openLinkRig(db: SqlDb, responseTimeoutMs = 500): Promise<LinkRig> {
  const institutionId = randomUUID();
  await db.query("INSERT INTO institutions (id, code, name, currency, timezone) VALUES ($1, $2, 'Link Bank', 'KES', 'Africa/Nairobi')", [
    institutionId,
    `links-${institutionId.slice(0, 8)}`,
  ]);
  const store = new SqlLinkStore(db);
  const sealer = new LinkPasswordSealer(randomBytes(32));
  const manager = new SmsLinkManager({
    store,
    sealer,
    logger: silent,
    clientDefaults: { responseTimeoutMs, reconnectBackoff: { initialMs: 20, maxMs: 200, jitterRatio: 0 } },
  });
  const admin = new SmsLinkAdmin(store, manager, sealer);
  await manager.start();
  const ok = (result: { ok: boolean; code?: string }) => {
    if (!result.ok) throw new Error(result.code);
  };
  return {
    manager,
    admin,
    async addClient(id, port, prefix) {
      ok(
        await admin.create(LINK_OPERATOR, id, {
          mode: "client",
          institutionId,
          enabled: true,
          systemId: "fingate",
          password: SMSC_PASSWORD,
          systemType: "",
          host: "127.0.0.1",
          port,
          maxBinds: 1,
          throughputPerS: null,
          shortCodes: ["22555"],
          msisdnPrefixes: [prefix],
          ussd: null,
        }),
      );
    },
    async update(id, change) {
      const current = (await admin.get(id)) as LinkConfig;
      const { id: _id, mode: _mode, createdAt: _c, updatedAt: _u, ...fields } = current;
      ok(await admin.update(LINK_OPERATOR, id, { ...fields, ...change }));
    },
    async remove(id) {
      ok(await admin.delete(LINK_OPERATOR, id));
    },
    async close() {
      await manager.close();
      await db.query("DELETE FROM sms_links WHERE institution_id = $1", [institutionId]);
    },
  };
}
