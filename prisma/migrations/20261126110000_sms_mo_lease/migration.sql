-- A message being run holds a lease, so that a re-delivery arriving meanwhile (an aggregator's
-- timeout retry, an SMSC's resend, on any instance) is not run a second time alongside it. A
-- lease that lapses (the instance died mid-run) lets the next re-delivery run the message again.
ALTER TABLE "sms_mo_messages" ADD COLUMN "run_token" UUID;
ALTER TABLE "sms_mo_messages" ADD COLUMN "running_until" TIMESTAMPTZ(6);
