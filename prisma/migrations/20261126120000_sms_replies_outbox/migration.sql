-- SMS command replies go through the outbox (src/sms/commands/outbox-replies.ts): a reply row
-- names the link its command came in on (preferred for the reply while that link exists; prefix
-- routing otherwise), our address the command was sent to (the reply's sender), and the MO
-- message it answers. The row's id derives from that MO message, so a re-run queues no second reply.
ALTER TABLE "outbox_messages" ADD COLUMN "reply_link_id" TEXT;
ALTER TABLE "outbox_messages" ADD COLUMN "sender" TEXT;
ALTER TABLE "outbox_messages" ADD COLUMN "in_reply_to" UUID;
