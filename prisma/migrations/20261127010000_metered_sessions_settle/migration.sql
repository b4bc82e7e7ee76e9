-- Charge outcomes of metered sessions settled together (src/infra/db/metered-session-store.ts): one
-- UPDATE by primary key per session, in session-id order, each only while the session has no outcome
-- (the first one recorded stays). Each row is locked as it is updated and the locks are taken in
-- session-id order, so two processes' batches cannot deadlock, without a separate locking pass over
-- the rows first. A primary-key lookup per row keeps its index scan whatever the planner believes of
-- the table's size, where one statement over the whole batch (= ANY, a join on unnest) could be
-- planned as a scan of the table, and stay so planned for the connection's life.
CREATE FUNCTION "metered_sessions_settle"(session_ids TEXT[], results TEXT[])
RETURNS VOID LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    s RECORD;
BEGIN
    FOR s IN SELECT u.session_id, u.result FROM unnest(session_ids, results) AS u(session_id, result) ORDER BY u.session_id LOOP
        UPDATE "metered_sessions" SET "charge_result" = s.result WHERE "session_id" = s.session_id AND "charge_result" IS NULL;
    END LOOP;
END
$$;
