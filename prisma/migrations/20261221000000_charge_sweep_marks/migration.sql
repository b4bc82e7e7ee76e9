-- Where each institution's sweep of unposted session charges reached (src/ussd/charge-sweep.ts),
-- in (ended_at, session_id) order: every metered session before it was posted or settled. Kept so
-- that a gateway stopped longer than the sweep's one-day look-back still posts what it left, and a
-- restart does not read the whole day again. Any instance moves it, only forward.
CREATE TABLE "charge_sweep_marks" (
    "institution_id" UUID NOT NULL,
    "ended_at" TIMESTAMPTZ(6) NOT NULL,
    "session_id" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "charge_sweep_marks_pkey" PRIMARY KEY ("institution_id")
);
