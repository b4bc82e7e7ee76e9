import type { FlowTable } from "../engine/engine.js";
import { account } from "./account.js";
import { balance, statement } from "./balance.js";
import { mainMenu } from "./main-menu.js";
import { register } from "./register.js";
import { send } from "./send.js";
import { changePin, language } from "./settings.js";

export const CUSTOMER_FLOWS: FlowTable = {
  main: mainMenu,
  register,
  balance,
  statement,
  send,
  change_pin: changePin,
  language,
  account,
};
