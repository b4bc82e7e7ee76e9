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

-- A customer who registered themselves (over USSD) and has no PIN yet: registration and the PIN
-- are two writes, and when the second failed (and the session was not resumed) the customer was
-- left registered with no PIN, every PIN they typed wrong. Set at self-registration, cleared in
-- the transaction that stores the subject's first PIN (SqlPinStore.insert); read with the customer
-- on each dial, so the menus ask such a customer to choose their PIN before anything else at no
-- extra cost. A customer the bank registers never has it: the bank's own process sets the PIN.
ALTER TABLE "customers" ADD COLUMN "awaiting_first_pin" BOOLEAN NOT NULL DEFAULT FALSE;
-- Those already stranded: self-registered (the registration's audit entry says so) without a PIN.
UPDATE "customers" c SET "awaiting_first_pin" = TRUE
WHERE NOT EXISTS (SELECT 1 FROM "pin_credentials" p WHERE p."subject_id" = c."id")
  AND EXISTS (SELECT 1 FROM "audit_log" a WHERE a."subject" = c."id"::text AND a."action" = 'directory.customer.register'
              AND a."actor_type" = 'customer' AND a."outcome" = 'ok');
