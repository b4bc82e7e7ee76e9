-- What has left a number during the cooling period after a reported SIM swap: the period's
-- allowance (SimSwapPolicy.maxOutgoingMinor) is a total over the period, not a per-payment figure,
-- so that a SIM thief who knows the PIN cannot drain a wallet in many small payments. One row per
-- report, written only for a number under cooling; taken atomically (INSERT … ON CONFLICT with the
-- bound in its WHERE) so that concurrent payments cannot together exceed the allowance.
CREATE TABLE "sim_swap_spent" (
    "event_id" UUID NOT NULL,
    "spent_minor" BIGINT NOT NULL,
    CONSTRAINT "sim_swap_spent_pkey" PRIMARY KEY ("event_id"),
    CONSTRAINT "sim_swap_spent_not_negative" CHECK ("spent_minor" >= 0)
);
