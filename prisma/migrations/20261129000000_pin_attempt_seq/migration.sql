-- Every counted PIN attempt gets a number (attempt_seq, one more per attempt, never less), so that
-- a right PIN forgives only the attempts counted up to it: those counted after it, still in flight,
-- stay counted (src/core/auth/lockout.ts, settleRight). Existing rows start at 0; their counters
-- are kept as they are.
ALTER TABLE "pin_credentials" ADD COLUMN "attempt_seq" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "pin_credentials" ADD CONSTRAINT "pin_credentials_attempt_seq_nonneg" CHECK ("attempt_seq" >= 0);
