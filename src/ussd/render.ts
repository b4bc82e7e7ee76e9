/** A menu reply as USSD pages in the caller's language. */
import type { Translator } from "../infra/i18n/index.js";
import type { Language, Message, Reply } from "../menus/index.js";
import { DEFAULT_BUDGET, type ScreenBudget } from "./gsm.js";
import { paginate } from "./pager.js";

export function replyBlocks(t: Translator, lang: Language, reply: Reply): string[] {
  const lines = reply.lines.map((m) => t.render(lang, m));
  const options = (reply.options ?? []).map((o) => `${o.choice}. ${t.render(lang, o.label)}`);
  return [...lines, ...options];
}

// Pages are a function of (translator, budget, language, reply): a translator's texts are loaded
// once and never change. Most hops show a screen already rendered for someone else (the main menu,
// a PIN prompt), and i18next plus paging was a good part of a hop's CPU, so recent renders are kept.
const MAX_CACHED_REPLIES = 5_000;
const rendered = new WeakMap<Translator, WeakMap<ScreenBudget, Map<string, readonly string[]>>>();

function cacheFor(t: Translator, budget: ScreenBudget): Map<string, readonly string[]> {
  let byBudget = rendered.get(t);
  if (!byBudget) rendered.set(t, (byBudget = new WeakMap()));
  let cache = byBudget.get(budget);
  if (!cache) byBudget.set(budget, (cache = new Map()));
  return cache;
}

/** With `ends`, the reply ends the session on its last page, which then offers no "0 Back". */
export function renderPages(t: Translator, lang: Language, reply: Reply, budget: ScreenBudget = DEFAULT_BUDGET, ends = false): readonly string[] {
  const cache = cacheFor(t, budget);
  const key = `${ends ? "E" : "C"}${lang}\u0000${JSON.stringify(reply)}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const nav = { more: t.render(lang, { key: "nav.more" }), back: t.render(lang, { key: "nav.back" }) };
  const pages = Object.freeze(paginate(replyBlocks(t, lang, reply), nav, budget, ends));
  // Oldest first out: the map keeps insertion order.
  if (cache.size >= MAX_CACHED_REPLIES) cache.delete(cache.keys().next().value!);
  cache.set(key, pages);
  return pages;
}

export function renderMessage(t: Translator, lang: Language, message: Message, budget?: ScreenBudget): string {
  return renderPages(t, lang, { lines: [message] }, budget)[0] ?? "";
}
