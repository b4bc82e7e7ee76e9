-- SMPP links to telcos, configured by the platform operator through the admin API. A link is a
-- client (we bind to the telco's SMSC) or a server account (the telco binds to our listener with
-- the system_id and password given here). Passwords: a server account's is stored as a salted
-- scrypt hash, since we only verify it; a client link's must be presented to the SMSC, so it is
-- stored sealed (AES-256-GCM under FINGATE_SMS_SECRET_KEY), never in clear.
CREATE TABLE "sms_links" (
    -- A short name chosen by the operator ("safaricom-ke"): queues, routes and telcos' smppLinkIds use it.
    "id" TEXT NOT NULL,
    "mode" TEXT NOT NULL,
    -- The bank whose customers this link serves (SMS commands and USSD sessions arriving on it).
    "institution_id" UUID NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "system_id" TEXT NOT NULL,
    "password_hash" TEXT,
    "password_sealed" TEXT,
    "system_type" TEXT NOT NULL DEFAULT '',
    "host" TEXT,
    "port" INTEGER,
    -- Server mode: sessions the telco may hold bound at once.
    "max_binds" INTEGER NOT NULL DEFAULT 1,
    -- Messages per second in each direction; null means no cap.
    "throughput_per_s" INTEGER,
    -- Our addresses on this link: MO messages to them are for us.
    "short_codes" TEXT[] NOT NULL DEFAULT '{}',
    -- Subscribers this link reaches (E.164 prefixes with "+"): MT routing by longest prefix.
    "msisdn_prefixes" TEXT[] NOT NULL DEFAULT '{}',
    -- USSD over SMPP on this link and its vendor's dialect; null: no USSD.
    "ussd" JSONB,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "sms_links_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "sms_links_institution_id_fkey" FOREIGN KEY ("institution_id") REFERENCES "institutions" ("id"),
    CONSTRAINT "sms_links_id_format" CHECK ("id" ~ '^[a-z0-9][a-z0-9-]{0,31}$'),
    CONSTRAINT "sms_links_mode_known" CHECK ("mode" IN ('client', 'server')),
    CONSTRAINT "sms_links_client_fields" CHECK ("mode" <> 'client' OR ("host" IS NOT NULL AND "port" IS NOT NULL AND "password_sealed" IS NOT NULL)),
    CONSTRAINT "sms_links_server_fields" CHECK ("mode" <> 'server' OR "password_hash" IS NOT NULL),
    CONSTRAINT "sms_links_port_range" CHECK ("port" IS NULL OR "port" BETWEEN 1 AND 65535),
    CONSTRAINT "sms_links_max_binds_range" CHECK ("max_binds" BETWEEN 1 AND 64),
    CONSTRAINT "sms_links_throughput_positive" CHECK ("throughput_per_s" IS NULL OR "throughput_per_s" > 0)
);

-- A telco binding to us is found by its system_id; client links to different SMSCs may share one.
CREATE UNIQUE INDEX "sms_links_server_system_id_key" ON "sms_links" ("system_id") WHERE "mode" = 'server';

-- Numbers that sent STOP: the outbound relay sends them no notices until they send START.
CREATE TABLE "sms_opt_outs" (
    "msisdn" TEXT NOT NULL,
    "opted_out_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "sms_opt_outs_pkey" PRIMARY KEY ("msisdn"),
    CONSTRAINT "sms_opt_outs_msisdn_e164" CHECK ("msisdn" ~ '^\+[1-9][0-9]{6,14}$')
);

-- MO messages seen, so that a telco's re-delivery is recognised: `mo_key` is the aggregator's
-- message id, or a keyed digest (HMAC) of the PDU's content, never the text (it may hold a PIN).
-- `id` is what transfer ids derive from; a re-delivery within the window gets the same id back.
CREATE TABLE "sms_mo_messages" (
    "id" UUID NOT NULL,
    "link_id" TEXT NOT NULL,
    "mo_key" TEXT NOT NULL,
    "msisdn" TEXT NOT NULL,
    -- The command word only (BAL, SEND …): never arguments, which may hold a PIN.
    "command" TEXT,
    "received_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "handled_at" TIMESTAMPTZ(6),
    CONSTRAINT "sms_mo_messages_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "sms_mo_messages_link_id_mo_key_key" UNIQUE ("link_id", "mo_key")
);

CREATE INDEX "sms_mo_messages_received_at_idx" ON "sms_mo_messages" ("received_at");
