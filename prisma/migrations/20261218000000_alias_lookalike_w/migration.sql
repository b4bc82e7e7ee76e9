-- "w" is drawn as "vv" on a phone's screen, but alias_lookalike (20261206000000) read "vv" as "w"
-- from the left, so a run of v and w got a skeleton that depends on its order: "kavwa" kept
-- "kavwa", while "kawva" and "kavvva" both became "kawva", though all three read "kavvva". Reading
-- "w" as "vv" instead gives every spelling of such a run the same skeleton ("kavvva"), and makes no
-- other name collide: "w" and "vv" were one already. The other folds are unchanged: separators
-- removed, "rn" read as "m" (no overlap with itself, so its order cannot matter), then 0 as o,
-- 1 and i as l, 5 as s. src/core/directory/aliases.ts (lookalikeSkeleton) says the same in TypeScript.
CREATE OR REPLACE FUNCTION "alias_lookalike"(key TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT translate(replace(replace(regexp_replace(key, '[._-]', '', 'g'), 'rn', 'm'), 'w', 'vv'), '01i5', 'olls')
$$;

-- Every stored skeleton computed again (the check constraint compares it with the function, and a
-- key holding a "w" or a "vv" may now have another). As in 20261206000000, aliases already held are
-- all kept: in a group that now collides, one takes the skeleton and the others are kept without
-- one (still found and paid by their own key). A held alias goes before a released one, so that
-- the name payers use keeps blocking its look-alikes after the released row is gone; then the oldest.
UPDATE "customer_aliases" SET "alias_lookalike" = NULL WHERE "alias_lookalike" IS NOT NULL;
UPDATE "customer_aliases" a SET "alias_lookalike" = s.lookalike
FROM (
    SELECT "alias_key", "alias_lookalike"("alias_key") AS lookalike,
           row_number() OVER (
               PARTITION BY "alias_lookalike"("alias_key")
               ORDER BY "released_at" IS NOT NULL, "created_at", "alias_key"
           ) AS n
    FROM "customer_aliases"
) s
WHERE a."alias_key" = s."alias_key" AND s.n = 1;
