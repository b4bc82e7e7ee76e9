-- A released pseudonym was deleted, and anyone could claim it at once: payers who still use it
-- (saved, printed on a shop's sign, told by word of mouth) would pay whoever claimed it first, a
-- fraudster watching for releases included. A release now keeps the row, with the time of the
-- release and its owner (customer_id, now the previous owner): the key and its skeletons stay
-- taken, so only that customer may claim it (or a look-alike) again until the quarantine ends
-- (src/core/directory/types.ts, ALIAS_QUARANTINE_DAYS); a later claim by anyone deletes the row
-- in the claim's transaction. A released alias is never found as a payee.
ALTER TABLE "customer_aliases" ADD COLUMN "released_at" TIMESTAMPTZ(6);
