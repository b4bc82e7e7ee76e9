-- A cash-out the customer approved but the ledger refused for an account that is not the
-- customer's (the agent's float or commission, the bank's settlement or fee income, frozen or
-- closed) is kept in state 'cancelled' instead of being deleted: the agent's app reads it as over
-- (it got "not found" before), and a retry of the agent's request id finds it rather than
-- recording a new pending request over the voided hold. It counts towards nothing (the agent's
-- unanswered requests count 'declined', 'expired' and 'refused' only). Existing rows all pass.
ALTER TABLE "agent_cash_outs" DROP CONSTRAINT "agent_cash_outs_state_known";
ALTER TABLE "agent_cash_outs" ADD CONSTRAINT "agent_cash_outs_state_known"
    CHECK ("state" IN ('pending', 'approved', 'declined', 'expired', 'refused', 'cancelled'));
