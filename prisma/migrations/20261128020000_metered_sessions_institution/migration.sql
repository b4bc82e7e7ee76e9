-- Metered sessions are keyed by institution and session id: institutions share the database, and
-- their aggregators' session ids (e.g. "at:ATUid_…") may coincide. Under a key of the session id
-- alone, the second institution's session was taken for a duplicate of the first's and never
-- recorded. Rows stored before keep their transfer_id, so their charge is posted (or answered as
-- posted) under the id it had.
ALTER TABLE "metered_sessions" DROP CONSTRAINT "metered_sessions_pkey",
    ADD CONSTRAINT "metered_sessions_pkey" PRIMARY KEY ("institution_id", "session_id");

DROP FUNCTION "metered_sessions_settle"(TEXT[], TEXT[]);

-- Charge outcomes of metered sessions settled together (src/infra/db/metered-session-store.ts): one
-- UPDATE by primary key per session, in key order (institution id, as a uuid, then session id),
-- each only while the session has no outcome (the first one recorded stays). Each row is locked as
-- it is updated and the locks are taken in key order, the order the batch insert takes them in
-- too, so two processes' batches cannot deadlock, without a separate locking pass over the rows
-- first. A primary-key lookup per row keeps its index scan whatever the planner believes of the
-- table's size, where one statement over the whole batch (= ANY, a join on unnest) could be planned
-- as a scan of the table, and stay so planned for the connection's life.
CREATE FUNCTION "metered_sessions_settle"(institution_ids UUID[], session_ids TEXT[], results TEXT[])
RETURNS VOID LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    s RECORD;
BEGIN
    FOR s IN SELECT u.institution_id, u.session_id, u.result FROM unnest(institution_ids, session_ids, results) AS u(institution_id, session_id, result)
            ORDER BY u.institution_id, u.session_id LOOP
        UPDATE "metered_sessions" SET "charge_result" = s.result
        WHERE "institution_id" = s.institution_id AND "session_id" = s.session_id AND "charge_result" IS NULL;
    END LOOP;
END
$$;
