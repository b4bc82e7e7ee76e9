-- An agent's cash-out request that the ledger refused for the customer's funds or the customer's
-- own limits is kept, in state 'refused', instead of being deleted: it counts towards the agent's
-- unanswered requests to that customer (at most 3 a day with the declined and lapsed ones), so an
-- agent cannot bisect a customer's balance or limit with requests that hold nothing. A refused row
-- never awaits anyone (every read of what awaits a customer asks for 'pending'). Requests the
-- agent's own side refused (its float's limits) are still deleted. Existing rows all pass.
ALTER TABLE "agent_cash_outs" DROP CONSTRAINT "agent_cash_outs_state_known";
ALTER TABLE "agent_cash_outs" ADD CONSTRAINT "agent_cash_outs_state_known"
    CHECK ("state" IN ('pending', 'approved', 'declined', 'expired', 'refused'));
