-- Pseudonyms that differ only by their separators ("mama.jane", "mamajane", "mama_jane") read
-- alike to a payer and would belong to different people: one alias per skeleton (the key without
-- its separators) from now on. A trigger sets the skeleton of every new alias, so no writer can
-- leave it out, and the unique index decides concurrent claims as the primary key does for keys.
-- Aliases already held keep working: in each group that already collides, the oldest takes the
-- skeleton and the others are kept without one (found by their exact key only).
ALTER TABLE "customer_aliases" ADD COLUMN "alias_skeleton" TEXT;
UPDATE "customer_aliases" a SET "alias_skeleton" = s.skeleton
FROM (
    SELECT "alias_key", regexp_replace("alias_key", '[._-]', '', 'g') AS skeleton,
           row_number() OVER (PARTITION BY regexp_replace("alias_key", '[._-]', '', 'g') ORDER BY "created_at", "alias_key") AS n
    FROM "customer_aliases"
) s
WHERE a."alias_key" = s."alias_key" AND s.n = 1;
CREATE UNIQUE INDEX "customer_aliases_alias_skeleton_key" ON "customer_aliases"("alias_skeleton");
ALTER TABLE "customer_aliases" ADD CONSTRAINT "customer_aliases_skeleton_of_key"
    CHECK ("alias_skeleton" IS NULL OR "alias_skeleton" = regexp_replace("alias_key", '[._-]', '', 'g'));

CREATE FUNCTION "customer_aliases_set_skeleton"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW."alias_skeleton" := regexp_replace(NEW."alias_key", '[._-]', '', 'g');
    RETURN NEW;
END;
$$;
CREATE TRIGGER "customer_aliases_skeleton" BEFORE INSERT ON "customer_aliases"
    FOR EACH ROW EXECUTE FUNCTION "customer_aliases_set_skeleton"();
