-- Parts of concatenated MO messages waiting for the rest (src/sms/commands/mo-parts.ts), one row
-- per message: any instance, and a restart, can complete it. Part texts are sealed (AES-256-GCM
-- under FINGATE_SMS_SECRET_KEY): an MO text may hold a PIN and is never stored in clear. A row
-- whose first part is older than the TTL is an expired, incomplete message and is never run.
CREATE TABLE "sms_mo_parts" (
    "link_id" TEXT NOT NULL,
    "msisdn" TEXT NOT NULL,
    "ref" INTEGER NOT NULL,
    "total" INTEGER NOT NULL,
    "part_keys" TEXT[] NOT NULL,
    "bodies" TEXT[] NOT NULL,
    "first_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sms_mo_parts_pkey" PRIMARY KEY ("link_id", "msisdn", "ref", "total")
);

CREATE INDEX "sms_mo_parts_first_at_idx" ON "sms_mo_parts"("first_at");
