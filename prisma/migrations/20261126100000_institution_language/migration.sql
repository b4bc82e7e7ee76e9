-- The language an institution's customers get until they choose their own: the menus of a number
-- the gateway does not know yet, and the starting language at registration. The same list as
-- customers_language_known (the locales the gateway ships).
ALTER TABLE "institutions" ADD COLUMN "language" TEXT NOT NULL DEFAULT 'en';
ALTER TABLE "institutions" ADD CONSTRAINT "institutions_language_known" CHECK ("language" IN ('en', 'sw', 'fr', 'hi'));
