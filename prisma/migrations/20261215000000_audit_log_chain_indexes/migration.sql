-- A bank's audit anchor names its newest entry on each chain (src/infra/db/audit-anchor.ts,
-- newestVisibleSeq): the newest one about the bank, by one of its keys, about one of its customers
-- or one of their numbers. Found by walking the chain backwards, it read every entry written since
-- (the whole chain on one the bank had no entry on). Each is now one probe of an index ending in
-- (chain, seq): the subject and actor indexes get the chain before the seq, which is how they are
-- replaced rather than joined by two more (every append writes each index). A lookup by subject or
-- actor alone uses them as before.
DROP INDEX "audit_log_subject_seq_idx";
-- Only entries with a subject: the ledger's batches (the most frequent appends, one per ledger
-- write on the payment path) have none and are never looked up by it, so they write no entry here.
CREATE INDEX "audit_log_subject_chain_seq_idx" ON "audit_log"("subject", "chain", "seq") WHERE "subject" IS NOT NULL;
DROP INDEX "audit_log_actor_id_seq_idx";
CREATE INDEX "audit_log_actor_id_chain_seq_idx" ON "audit_log"("actor_id", "chain", "seq");
