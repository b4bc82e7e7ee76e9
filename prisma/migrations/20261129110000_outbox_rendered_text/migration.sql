-- The text the relay rendered at a message's first claim, kept with the row so that a recovered row
-- (its job lost with Redis or a crash, put back to pending by the stale sweep) sends that same text:
-- rendering it again could give another text (a template or the customer's language changed
-- meanwhile), whose remaining parts would not follow those the SMSC already accepted. Rows routed
-- before this migration have none and are rendered again, as they were.
ALTER TABLE "outbox_messages" ADD COLUMN "rendered_text" TEXT;
