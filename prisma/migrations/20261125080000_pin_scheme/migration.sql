-- Each PIN credential records the scheme that verifies it (docs/architecture.md, "PIN verification").
-- Existing rows are Argon2id; they are re-keyed to the keyed scheme on their next successful verify.
-- The keyed scheme stores "$fg-hmac-sha256$k=<key id>$<salt>$<mac>": HMAC-SHA-256 under a key
-- held outside the database. As before, the CHECK makes a clear PIN unstorable even by a buggy caller.
ALTER TABLE "pin_credentials" ADD COLUMN "pin_scheme" TEXT NOT NULL DEFAULT 'argon2id';
ALTER TABLE "pin_credentials" DROP CONSTRAINT "pin_credentials_hash_argon2id";
ALTER TABLE "pin_credentials" ADD CONSTRAINT "pin_credentials_scheme_hash" CHECK (
    length("pin_hash") <= 512 AND (
        ("pin_scheme" = 'argon2id' AND "pin_hash" LIKE '$argon2id$%') OR
        ("pin_scheme" = 'hmac-sha256' AND "pin_hash" LIKE '$fg-hmac-sha256$%')
    )
);
