-- Float coming in (customers' withdrawals and cash-outs) gets a daily figure of its own; until now
-- it was bounded by the float-out figure, counted apart. Existing agents keep what they had.
ALTER TABLE "agents" ADD COLUMN "max_daily_float_in_minor" BIGINT;
UPDATE "agents" SET "max_daily_float_in_minor" = "max_daily_float_out_minor";
ALTER TABLE "agents" ALTER COLUMN "max_daily_float_in_minor" SET NOT NULL;
ALTER TABLE "agents" ADD CONSTRAINT "agents_float_in_positive" CHECK ("max_daily_float_in_minor" > 0);
