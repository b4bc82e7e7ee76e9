-- Timed PIN locks since the last right PIN: after the policy's number of them the next lock lasts
-- until the bank unlocks it, so an expired lock is not a fresh set of guesses for ever.
ALTER TABLE "pin_credentials" ADD COLUMN "lock_count" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "pin_credentials" ADD CONSTRAINT "pin_credentials_lock_count_nonnegative" CHECK ("lock_count" >= 0);
