-- The security levels' default limits (the most a bank may allow on a channel and tier) are tables
-- in limit units, sized like Kenya's e-money tiers. An institution's limit unit is so many minor
-- units of its currency, set by the platform when it creates the institution: 100 (a shilling)
-- for KES, 2,000 for TZS, 65 for INR. Every existing institution keeps 100, what its ceilings were.
ALTER TABLE "institutions" ADD COLUMN "limit_unit_minor" BIGINT NOT NULL DEFAULT 100;
ALTER TABLE "institutions" ADD CONSTRAINT "institutions_limit_unit_minor_range" CHECK ("limit_unit_minor" BETWEEN 1 AND 1000000000);
