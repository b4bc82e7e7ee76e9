-- The attempt of an MO message whose run answered "Wrong PIN" (its text's PIN was judged wrong).
-- A network copy of it within the re-delivery window whose answer the SMSC refused for good is
-- reopened as a new attempt (src/sms/commands/handler.ts, againIfLost) so that the customer hears
-- an answer; it checked the PIN again, and three copies of one SEND typed with one wrong PIN
-- counted three wrong PINs and locked the customer. Such a copy now answers the same refusal
-- without checking the PIN: the same text holds the same PIN. Null: no attempt was so refused.
ALTER TABLE "sms_mo_messages" ADD COLUMN "pin_refused_attempt" INTEGER;
