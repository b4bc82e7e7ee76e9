-- Pseudonyms that only differ by characters that pass for one another on a phone's screen
-- ("j0hn" and "john", "rnama.jane" and "mama.jane", "bi1l" and "bill") would belong to different
-- people: a fraudster claims the look-alike of a name payers use and is paid in its place. One
-- alias per look-alike skeleton from now on, as per separator skeleton since 20261129030000.
--
-- The skeleton (alias_lookalike): the key (already lower case, ASCII after NFKC) without its
-- separators, "rn" read as "m" and "vv" as "w", then 0 as o, 1 and i as l, 5 as s. Kept small on
-- purpose: each fold makes more names collide, and these are the ones a small screen's font
-- cannot tell apart. src/core/directory/aliases.ts (lookalikeSkeleton) says the same in TypeScript.
CREATE FUNCTION "alias_lookalike"(key TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT translate(replace(replace(regexp_replace(key, '[._-]', '', 'g'), 'rn', 'm'), 'vv', 'w'), '01i5', 'olls')
$$;

-- Aliases already held keep working: in each group that already collides, the oldest takes the
-- skeleton and the others are kept without one (still found and paid by their own key).
ALTER TABLE "customer_aliases" ADD COLUMN "alias_lookalike" TEXT;
UPDATE "customer_aliases" a SET "alias_lookalike" = s.lookalike
FROM (
    SELECT "alias_key", "alias_lookalike"("alias_key") AS lookalike,
           row_number() OVER (PARTITION BY "alias_lookalike"("alias_key") ORDER BY "created_at", "alias_key") AS n
    FROM "customer_aliases"
) s
WHERE a."alias_key" = s."alias_key" AND s.n = 1;
CREATE UNIQUE INDEX "customer_aliases_alias_lookalike_key" ON "customer_aliases"("alias_lookalike");
ALTER TABLE "customer_aliases" ADD CONSTRAINT "customer_aliases_lookalike_of_key"
    CHECK ("alias_lookalike" IS NULL OR "alias_lookalike" = "alias_lookalike"("alias_key"));

-- The trigger that sets the separator skeleton of every new alias sets this one too, so no writer
-- can leave it out; the unique index decides concurrent claims of look-alikes.
CREATE OR REPLACE FUNCTION "customer_aliases_set_skeleton"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW."alias_skeleton" := regexp_replace(NEW."alias_key", '[._-]', '', 'g');
    NEW."alias_lookalike" := "alias_lookalike"(NEW."alias_key");
    RETURN NEW;
END;
$$;
