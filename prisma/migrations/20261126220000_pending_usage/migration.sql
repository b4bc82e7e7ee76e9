-- The limit_usage rows a pending transfer counted when it was made (its payer's day and month,
-- its payee's ":in" day and month), written in the pending's own transaction. A void, an expiry or
-- a post for less gives the usage it does not send back to these same rows. Like the pending,
-- a row is never changed; the transfer is unique by its resolution, so usage is given back once.
-- No foreign key, as for pending_timeouts: transfers are append-only and never removed.
CREATE TABLE "pending_usage" (
    "transfer_id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "period_key" TEXT NOT NULL,
    CONSTRAINT "pending_usage_pkey" PRIMARY KEY ("transfer_id", "account_id", "period_key")
);
