/**
 * bench:ledger-bare's third shape, "decided": the whole batch decided inside PostgreSQL by one
 * plpgsql function in one autocommit round trip, on the real ledger schema (migrated tables,
 * constraints, triggers, audit chain). Node sends the batch as binary arrays (accounts as a
 * sorted id list, each transfer naming its debit and credit by slot in that list, so the function
 * never maps ids itself) and reads back one text of result codes ("" for ok).
 *
 * The function covers the common case of the real decide (decide.ts): single and pending
 * transfers; ids seen before answered as compareWithExisting does; status, currency, overflow and
 * both balance flags checked against running balances, pending amounts included; recorded
 * failures written; pending timeouts armed; balances updated by row version; one audit entry per
 * 200 records chained with the same digest and canonical content as ledger_audit_entries. It is a
 * feasibility probe: no linked groups, limits, notices or post/void (the real path would send
 * those batches the general way), and a missing account returns NULL (the same).
 */
import type pg from "pg";
import { int4ArrayBinary, int8ArrayBinary, textArrayBinary, uuidArrayBinary } from "../src/infra/db/ledger-rows.js";

export const DECIDE_FUNCTION = `
CREATE FUNCTION ledger_decide_batch(acc uuid[], ids uuid[], dslot int[], cslot int[], amounts bigint[], kinds text[],
    tcodes text[], refs text[], timeouts int[], at timestamptz, at_text text)
RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE
    n int := cardinality(ids);
    locked uuid[]; st text[]; acur text[]; fl int[]; dp bigint[]; dpo bigint[]; cp bigint[]; cpo bigint[]; tids tid[];
    touched boolean[];
    res text[];
    tcur text[];
    fresh int[] := '{}';
    rec record;
    vd int; vc int; vamt bigint; vpend boolean;
    maxv constant bigint := 9223372036854775807;
    head_seq bigint; head_hash text; vh text; vcontent text;
BEGIN
    SELECT array_agg(l.id), array_agg(l.status), array_agg(l.currency::text), array_agg(l.flags), array_agg(l.debits_pending),
        array_agg(l.debits_posted), array_agg(l.credits_pending), array_agg(l.credits_posted), array_agg(l.ctid)
    INTO locked, st, acur, fl, dp, dpo, cp, cpo, tids
    FROM (SELECT a.ctid, a.* FROM accounts a WHERE a.id = ANY(acc) ORDER BY a.id FOR UPDATE) l;
    -- Slots are positions in acc, which must be the locked rows in PostgreSQL's own id order.
    IF locked IS DISTINCT FROM acc THEN RETURN NULL; END IF;
    touched := array_fill(false, ARRAY[cardinality(acc)]);
    res := array_fill(NULL::text, ARRAY[n]);
    tcur := array_fill(NULL::text, ARRAY[n]);

    -- Ids seen before (retries): answered as compareWithExisting does for single and pending.
    FOR rec IN
        SELECT u.k, t.kind, t.debit_account_id AS da, t.credit_account_id AS ca, t.amount, t.pending_id, t.timeout_sec, t.code, NULL::text AS result
        FROM unnest(ids) WITH ORDINALITY u(id, k) JOIN transfers t ON t.id = u.id
        UNION ALL
        SELECT u.k, f.kind, f.debit_account_id, f.credit_account_id, f.amount, f.pending_id, NULL, NULL, f.result
        FROM unnest(ids) WITH ORDINALITY u(id, k) JOIN transfer_failures f ON f.id = u.id
    LOOP
        res[rec.k] := CASE
            WHEN rec.kind <> kinds[rec.k] THEN 'exists_with_different_kind'
            WHEN rec.da IS DISTINCT FROM acc[dslot[rec.k]] THEN 'exists_with_different_debit_account_id'
            WHEN rec.ca IS DISTINCT FROM acc[cslot[rec.k]] THEN 'exists_with_different_credit_account_id'
            WHEN rec.amount IS DISTINCT FROM amounts[rec.k] THEN 'exists_with_different_amount'
            WHEN rec.pending_id IS NOT NULL THEN 'exists_with_different_pending_id'
            WHEN rec.result IS NOT NULL THEN rec.result
            WHEN rec.timeout_sec IS DISTINCT FROM timeouts[rec.k] THEN 'exists_with_different_timeout'
            WHEN rec.code <> tcodes[rec.k] THEN 'exists_with_different_code'
            ELSE 'exists' END;
    END LOOP;

    FOR i IN 1..n LOOP
        CONTINUE WHEN res[i] IS NOT NULL;
        vd := dslot[i]; vc := cslot[i]; vamt := amounts[i];
        IF st[vd] <> 'active' THEN res[i] := 'debit_account_' || st[vd]; fresh := fresh || i; CONTINUE; END IF;
        IF st[vc] <> 'active' THEN res[i] := 'credit_account_' || st[vc]; fresh := fresh || i; CONTINUE; END IF;
        IF acur[vd] <> acur[vc] THEN res[i] := 'accounts_must_have_the_same_currency'; CONTINUE; END IF;
        vpend := kinds[i] = 'pending';
        -- Sums compared as differences: a stored sum never exceeds maxv, a bigint addition past it would raise.
        IF vamt > maxv - dp[vd] - dpo[vd] THEN res[i] := 'overflows_debits'; fresh := fresh || i; CONTINUE; END IF;
        IF vamt > maxv - cp[vc] - cpo[vc] THEN res[i] := 'overflows_credits'; fresh := fresh || i; CONTINUE; END IF;
        IF fl[vd] & 1 = 1 AND dp[vd] + dpo[vd] + vamt > cpo[vd] THEN res[i] := 'exceeds_credits'; fresh := fresh || i; CONTINUE; END IF;
        IF fl[vc] & 2 = 2 AND cp[vc] + cpo[vc] + vamt > dpo[vc] THEN res[i] := 'exceeds_debits'; fresh := fresh || i; CONTINUE; END IF;
        IF vpend THEN dp[vd] := dp[vd] + vamt; cp[vc] := cp[vc] + vamt;
        ELSE dpo[vd] := dpo[vd] + vamt; cpo[vc] := cpo[vc] + vamt; END IF;
        touched[vd] := true; touched[vc] := true;
        tcur[i] := acur[vd];
    END LOOP;

    INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, currency, kind, pending_id, timeout_sec, expires_at,
        code, reference, created_at)
    SELECT t.id, acc[t.d], acc[t.c], t.amt, t.cur, t.kind, NULL, t.tmo, at + t.tmo * interval '1 second', t.code, t.ref, at
    FROM unnest(ids, dslot, cslot, amounts, tcur, kinds, timeouts, tcodes, refs, res) AS t(id, d, c, amt, cur, kind, tmo, code, ref, r)
    WHERE t.r IS NULL;

    INSERT INTO pending_timeouts (transfer_id, expires_at)
    SELECT t.id, at + t.tmo * interval '1 second' FROM unnest(ids, timeouts, res) AS t(id, tmo, r) WHERE t.r IS NULL AND t.tmo IS NOT NULL;

    IF cardinality(fresh) > 0 THEN
        INSERT INTO transfer_failures (id, result, kind, debit_account_id, credit_account_id, amount, pending_id, created_at)
        SELECT ids[k], res[k], kinds[k], acc[dslot[k]], acc[cslot[k]], amounts[k], NULL, at FROM unnest(fresh) k;
    END IF;

    UPDATE accounts a SET debits_pending = v.dp, debits_posted = v.dpo, credits_pending = v.cp, credits_posted = v.cpo
    FROM unnest(tids, acc, dp, dpo, cp, cpo, touched) AS v(tid, id, dp, dpo, cp, cpo, t)
    WHERE v.t AND a.ctid = v.tid AND a.id = v.id;

    -- The audit chain: one entry per 200 records (accepted transfers, then recorded failures).
    SELECT last_seq, last_hash INTO head_seq, head_hash FROM audit_head WHERE id = 1 FOR UPDATE;
    vh := head_hash;
    FOR rec IN
        WITH recs AS (
            SELECT k AS o, id::text AS ref, concat_ws('|', id, kind, acc[d], acc[c], amt, cur, '', code, coalesce(ref, ''), at_text) AS line, false AS failure
            FROM unnest(ids, dslot, cslot, amounts, tcur, kinds, tcodes, refs, res) WITH ORDINALITY AS t(id, d, c, amt, cur, kind, code, ref, r, k)
            WHERE t.r IS NULL
            UNION ALL
            SELECT n + j, ids[k] || ':' || res[k], ids[k] || '|' || res[k], true FROM unnest(fresh) WITH ORDINALITY AS f(k, j)
        ), numbered AS (SELECT row_number() OVER (ORDER BY o) - 1 AS rn, * FROM recs)
        SELECT rn / 200 AS chunk,
            '{"digest":"' || encode(sha256(convert_to(string_agg(line || E'\\n', '' ORDER BY rn), 'UTF8')), 'hex')
            || '","failures":[' || coalesce(string_agg('"' || ref || '"', ',' ORDER BY rn) FILTER (WHERE failure), '')
            || '],"transfers":[' || coalesce(string_agg('"' || ref || '"', ',' ORDER BY rn) FILTER (WHERE NOT failure), '') || ']}' AS payload
        FROM numbered GROUP BY rn / 200 ORDER BY 1
    LOOP
        head_seq := head_seq + 1;
        vcontent := '{"action":"ledger.batch","actorId":"ledger","actorType":"system","channel":"system","occurredAt":"' || at_text
            || '","outcome":"ok","payload":' || rec.payload || ',"seq":"' || head_seq || '","subject":null}';
        INSERT INTO audit_log (seq, occurred_at, actor_type, actor_id, action, channel, outcome, subject, payload, prev_hash, hash)
        VALUES (head_seq, at, 'system', 'ledger', 'ledger.batch', 'system', 'ok', NULL, rec.payload::jsonb, vh,
            encode(sha256(convert_to(vh || vcontent, 'UTF8')), 'hex'))
        RETURNING hash INTO vh;
    END LOOP;
    IF vh <> head_hash THEN UPDATE audit_head SET last_seq = head_seq, last_hash = vh WHERE id = 1; END IF;
    RETURN array_to_string(res, ',', '');
END
$fn$`;

export interface DecidedTransfer {
  id: string;
  debit: string;
  credit: string;
  amount: bigint;
}

/** One round trip: the batch as binary arrays, the result codes back ("" for ok). */
export async function writeDecided(pool: pg.Pool, batch: DecidedTransfer[]): Promise<string[]> {
  const slots = new Map<string, number>();
  for (const t of batch) slots.set(t.debit, 0).set(t.credit, 0);
  const accounts = [...slots.keys()].sort();
  accounts.forEach((id, i) => slots.set(id, i + 1));
  const at = new Date();
  const result = await pool.query<{ r: string | null }>({
    name: "bare_decided",
    text: "SELECT ledger_decide_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) AS r",
    values: [
      uuidArrayBinary(accounts, (a) => a),
      uuidArrayBinary(batch, (t) => t.id),
      int4ArrayBinary(batch, (t) => slots.get(t.debit)!),
      int4ArrayBinary(batch, (t) => slots.get(t.credit)!),
      int8ArrayBinary(batch, (t) => t.amount),
      textArrayBinary(batch, () => "single"),
      textArrayBinary(batch, () => "p2p"),
      textArrayBinary(batch, () => null),
      int4ArrayBinary(batch, () => null),
      at.toISOString(),
      at.toISOString(),
    ],
  });
  const codes = result.rows[0]!.r;
  if (codes === null) throw new Error("decided: an account was missing or out of order");
  return codes.split(",");
}
