-- The bank an outbound message is about, stored when the row is written by the writer that knows
-- it (the ledger: the transfer's debit account's; a command reply: the institution of the link or
-- HTTP aggregator the command came in on; a PIN notice: the subject's). The relay routes the row
-- over that bank's links only. Null for rows written before this column: the claim infers their
-- bank as before (transfer, reply link, customer, the one bank with an agent at the number).
-- Adding a nullable column without a default rewrites nothing and locks the table only briefly.
ALTER TABLE "outbox_messages" ADD COLUMN "institution_id" UUID;
