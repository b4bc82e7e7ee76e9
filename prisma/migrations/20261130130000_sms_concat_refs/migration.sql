-- The last concatenation reference given to each number, so that relays in several gateway
-- processes take a number's next reference atomically (one INSERT ... ON CONFLICT DO UPDATE ...
-- RETURNING, the row locked until the claim commits). The relay used to read the previous message's
-- reference from outbox_messages, and two relays claiming at once both read the same one: two long
-- messages to a number got the same reference and a handset could join their parts. A number
-- without a row here takes its first reference from its last outbox rows, as before.
CREATE TABLE "sms_concat_refs" (
    "msisdn" TEXT NOT NULL,
    "last_ref" INTEGER NOT NULL,

    CONSTRAINT "sms_concat_refs_pkey" PRIMARY KEY ("msisdn")
);
