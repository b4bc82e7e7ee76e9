-- A bank's audit page (src/infra/db/audit-page.ts, ownPageStatement) lists its entries newest first
-- by time. Filtering the whole log's newest-first scan (the occurred_at index) by what the bank
-- sees read every entry written since the bank's newest, the whole table for a bank quiet lately.
-- It now reads, for each way an entry is the bank's, that key's entries from the cursor down in
-- the page's order, which needs the time after the key: the (subject, chain, seq) and
-- (actor_id, chain, seq) indexes order by seq, and an entry's time (the appender's clock) does not
-- follow its seq. Every append writes these, so the actor one holds only API keys' entries, the
-- only actors a bank's page looks up (the ledger's, the PIN service's customers' and others' are
-- left out of it).
-- Only entries with a subject (as audit_log_subject_chain_seq_idx): the ledger's batches have none.
CREATE INDEX "audit_log_subject_occurred_at_chain_seq_idx" ON "audit_log"("subject", "occurred_at", "chain", "seq") WHERE "subject" IS NOT NULL;
CREATE INDEX "audit_log_apikey_occurred_at_chain_seq_idx" ON "audit_log"("actor_id", "occurred_at", "chain", "seq") WHERE "actor_id" LIKE 'apikey:%';
