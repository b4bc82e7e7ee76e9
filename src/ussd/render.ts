/** A menu reply as USSD pages in the caller's language. */
import type { Translator } from "../infra/i18n/index.js";
import type { Language, Message, Reply } from "../menus/index.js";
import type { ScreenBudget } from "./gsm.js";
import { paginate } from "./pager.js";

export function replyBlocks(t: Translator, lang: Language, reply: Reply): string[] {
  const lines = reply.lines.map((m) => t.render(lang, m));
  const options = (reply.options ?? []).map((o) => `${o.choice}. ${t.render(lang, o.label)}`);
  return [...lines, ...options];
}

export function renderPages(t: Translator, lang: Language, reply: Reply, budget?: ScreenBudget): string[] {
  const nav = { more: t.render(lang, { key: "nav.more" }), back: t.render(lang, { key: "nav.back" }) };
  return paginate(replyBlocks(t, lang, reply), nav, budget);
}

export function renderMessage(t: Translator, lang: Language, message: Message, budget?: ScreenBudget): string {
  return renderPages(t, lang, { lines: [message] }, budget)[0] ?? "";
}
