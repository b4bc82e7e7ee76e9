-- Inbound usage: what a payee whose policy bounds inflow (an agent's float) has received in a
-- local day or month, counted in the same table as sending under its own period key
-- ("2026-11-25:in", "2026-11:in"), so the ledger loads and writes both sides in one statement.
ALTER TABLE "limit_usage" DROP CONSTRAINT "limit_usage_period_key_format";
ALTER TABLE "limit_usage" ADD CONSTRAINT "limit_usage_period_key_format" CHECK ("period_key" ~ '^[0-9]{4}-[0-9]{2}(-[0-9]{2})?(:in)?$');
