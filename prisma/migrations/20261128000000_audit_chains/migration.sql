-- Two audit chains (docs/architecture.md, "The audit log"): chain 1 holds every entry as before,
-- but for the attempts at a customer's PIN (`pin.verify`, `pin.change`), which chain 2 holds from
-- now on (earlier ones stay where they were, on chain 1). Both are hash chains with
-- gap-free sequence numbers of their own under a head row of their own, so a PIN settle no longer
-- waits for a ledger write's commit at a single head, nor the other way round. Chain 2 starts
-- from its own genesis hash (SHA-256 of "fingate audit chain 2"), so no entry can be moved from
-- one chain to the other without breaking a link.
ALTER TABLE "audit_head" DROP CONSTRAINT "audit_head_single_row";
ALTER TABLE "audit_head" ADD CONSTRAINT "audit_head_known_chain" CHECK ("id" IN (1, 2));
INSERT INTO "audit_head" ("id", "last_seq", "last_hash")
    VALUES (2, 0, '2438ab87b6a311496e0a1fe85b57b8ec40d7af37902c7f4bb54ad9f9d64bf74e');

ALTER TABLE "audit_log" ADD COLUMN "chain" SMALLINT NOT NULL DEFAULT 1;
ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_chain_known" CHECK ("chain" IN (1, 2));
ALTER TABLE "audit_log" DROP CONSTRAINT "audit_log_pkey";
ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_pkey" PRIMARY KEY ("chain", "seq");
-- The admin API lists entries of both chains newest first, by the time they were appended.
CREATE INDEX "audit_log_occurred_at_chain_seq_idx" ON "audit_log"("occurred_at", "chain", "seq");
