-- Directory: customers identified by MSISDN, their pseudonyms (aliases) and payment instruments.
-- Names are unqualified so the same file migrates any schema. The CHECK constraints repeat the
-- rules of src/core/directory so that a bug or a hand-written UPDATE cannot store what the
-- service would refuse.

-- Per-institution directory settings: the country assumed for numbers written without a country
-- code ("0712 345 678"). A table of its own keeps the ledger's institutions table untouched.
CREATE TABLE "directory_settings" (
    "institution_id" UUID NOT NULL,
    "default_country" CHAR(2) NOT NULL,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "directory_settings_pkey" PRIMARY KEY ("institution_id"),
    CONSTRAINT "directory_settings_country_iso" CHECK ("default_country" ~ '^[A-Z]{2}$')
);
ALTER TABLE "directory_settings" ADD CONSTRAINT "directory_settings_institution_id_fkey" FOREIGN KEY ("institution_id")
    REFERENCES "institutions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- The MSISDN is unique across the platform, not per institution: the telco hands us only the
-- calling number, and a payment to a number must reach exactly one person.
CREATE TABLE "customers" (
    "id" UUID NOT NULL,
    "institution_id" UUID NOT NULL,
    "msisdn" TEXT NOT NULL,
    "display_name" TEXT NOT NULL,
    "language" TEXT NOT NULL DEFAULT 'en',
    "kyc_tier" INTEGER NOT NULL DEFAULT 0,
    "status" TEXT NOT NULL DEFAULT 'active',
    "wallet_account_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "customers_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "customers_msisdn_e164" CHECK ("msisdn" ~ '^\+[1-9][0-9]{6,14}$'),
    CONSTRAINT "customers_display_name_length" CHECK (char_length("display_name") BETWEEN 1 AND 60),
    CONSTRAINT "customers_display_name_trimmed" CHECK ("display_name" = btrim("display_name")),
    CONSTRAINT "customers_display_name_no_control" CHECK ("display_name" !~ '[[:cntrl:]]'),
    CONSTRAINT "customers_language_known" CHECK ("language" IN ('en', 'sw', 'fr', 'hi')),
    CONSTRAINT "customers_kyc_tier_range" CHECK ("kyc_tier" BETWEEN 0 AND 3),
    CONSTRAINT "customers_status_known" CHECK ("status" IN ('active', 'blocked', 'closed'))
);
CREATE UNIQUE INDEX "customers_msisdn_key" ON "customers"("msisdn");
CREATE UNIQUE INDEX "customers_wallet_account_id_key" ON "customers"("wallet_account_id");
CREATE INDEX "customers_institution_id_idx" ON "customers"("institution_id");
ALTER TABLE "customers" ADD CONSTRAINT "customers_institution_id_fkey" FOREIGN KEY ("institution_id")
    REFERENCES "institutions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "customers" ADD CONSTRAINT "customers_wallet_account_id_fkey" FOREIGN KEY ("wallet_account_id")
    REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Pseudonyms. alias_key is the lower-cased alias; its primary key makes aliases unique across the
-- platform without case (a plain index, so Prisma's schema can describe it), and concurrent claims
-- of one alias are decided by that index: exactly one insert wins.
CREATE TABLE "customer_aliases" (
    "alias_key" TEXT NOT NULL,
    "alias" TEXT NOT NULL,
    "customer_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "customer_aliases_pkey" PRIMARY KEY ("alias_key"),
    CONSTRAINT "customer_aliases_key_is_lower_alias" CHECK ("alias_key" = lower("alias")),
    CONSTRAINT "customer_aliases_key_format" CHECK (char_length("alias_key") BETWEEN 3 AND 20
        AND "alias_key" ~ '^[a-z][a-z0-9]*([._-][a-z0-9]+)*$')
);
CREATE INDEX "customer_aliases_customer_id_idx" ON "customer_aliases"("customer_id");
ALTER TABLE "customer_aliases" ADD CONSTRAINT "customer_aliases_customer_id_fkey" FOREIGN KEY ("customer_id")
    REFERENCES "customers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Means of payment, each backed by a ledger account of its own. Only the last four characters of
-- an external reference are kept: never a full card or account number.
-- is_default is TRUE or NULL, never FALSE: the unique index on (customer_id, is_default) then
-- allows any number of non-default instruments (NULLs are distinct) but one default at most.
CREATE TABLE "payment_instruments" (
    "id" UUID NOT NULL,
    "customer_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "alias" TEXT NOT NULL,
    "account_id" UUID NOT NULL,
    "external_ref_last4" TEXT,
    "is_default" BOOLEAN,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "payment_instruments_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "payment_instruments_kind_known" CHECK ("kind" IN ('wallet', 'bank_account', 'card',
        'mobile_money', 'e_money')),
    CONSTRAINT "payment_instruments_alias_format" CHECK (char_length("alias") BETWEEN 2 AND 16
        AND "alias" ~ '^[a-z][a-z0-9]*([._-][a-z0-9]+)*$'),
    CONSTRAINT "payment_instruments_last4_format" CHECK ("external_ref_last4" ~ '^[A-Z0-9]{4}$'),
    CONSTRAINT "payment_instruments_ref_unless_wallet" CHECK (("kind" = 'wallet') = ("external_ref_last4" IS NULL)),
    CONSTRAINT "payment_instruments_default_true_or_null" CHECK ("is_default")
);
CREATE UNIQUE INDEX "payment_instruments_account_id_key" ON "payment_instruments"("account_id");
CREATE UNIQUE INDEX "payment_instruments_customer_id_alias_key" ON "payment_instruments"("customer_id", "alias");
CREATE UNIQUE INDEX "payment_instruments_customer_id_is_default_key" ON "payment_instruments"("customer_id", "is_default");
ALTER TABLE "payment_instruments" ADD CONSTRAINT "payment_instruments_customer_id_fkey" FOREIGN KEY ("customer_id")
    REFERENCES "customers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "payment_instruments" ADD CONSTRAINT "payment_instruments_account_id_fkey" FOREIGN KEY ("account_id")
    REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
