import type { FlowTable } from "../engine/engine.js";
import { account } from "./account.js";
import { agentCashIn, agentCashOut } from "./agent-cash.js";
import { agentCommission, agentFloat, agentMenu, agentToday } from "./agent-menu.js";
import { approve } from "./approve.js";
import { balance, statement } from "./balance.js";
import { mainMenu } from "./main-menu.js";
import { firstPin, register } from "./register.js";
import { send } from "./send.js";
import { changePin, language } from "./settings.js";
import { withdraw } from "./withdraw.js";

export { AGENT_CHOICES } from "./agent-menu.js";
export { MAIN_CHOICES } from "./main-menu.js";
export { movesMoney, writesState } from "./money.js";

export const CUSTOMER_FLOWS: FlowTable = {
  main: mainMenu,
  register,
  first_pin: firstPin,
  balance,
  statement,
  send,
  change_pin: changePin,
  language,
  account,
  withdraw,
  approve,
  agent: agentMenu,
  agent_cash_in: agentCashIn,
  agent_cash_out: agentCashOut,
  agent_float: agentFloat,
  agent_today: agentToday,
  agent_commission: agentCommission,
};
