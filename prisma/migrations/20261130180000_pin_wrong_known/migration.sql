-- How many of a credential's counted attempts (failed_attempts) are known wrong: checked and found
-- wrong, noted by the write that audits them. A lock all of whose attempts are known wrong cannot be
-- lifted by a right PIN in flight, so an attempt that meets it, in any process, answers pin_locked
-- at once instead of waiting out the settle window (src/core/auth/pin-service.ts, countSettled).
-- Existing rows start at 0: their locks are not known final and are waited for, as before.
ALTER TABLE "pin_credentials" ADD COLUMN "wrong_known" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "pin_credentials" ADD CONSTRAINT "pin_credentials_wrong_known_nonneg" CHECK ("wrong_known" >= 0);
