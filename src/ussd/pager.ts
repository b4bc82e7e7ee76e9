/**
 * Splits a screen into pages that each fit one USSD message, with "98 More" and "0 Back". Blocks
 * (paragraphs and option lines) are kept whole when they fit a page; a paragraph longer than a page
 * is split between words. Only a single word longer than a whole page (which input limits rule
 * out) would ever be cut.
 */
import { DEFAULT_BUDGET, fits, toAir, type ScreenBudget } from "./gsm.js";

export const MORE_INPUT = "98";
export const BACK_INPUT = "0";

export interface NavLabels {
  more: string;
  back: string;
}

// A screen never pages into more than this many pages; the rest would be unreadable anyway.
export const MAX_PAGES = 16;

/** With `ends`, the last page ends the session (an END): it offers no "0 Back" that could not be honoured. */
export function paginate(blocks: string[], nav: NavLabels, budget: ScreenBudget = DEFAULT_BUDGET, ends = false): string[] {
  const clean = blocks.map((b) => b.replace(/[\r\n\t]+/g, " ").replace(/ {2,}/g, " ").trim()).filter((b) => b.length > 0);
  const whole = clean.join("\n");
  if (fits(whole, budget)) return [toAir(whole)];
  const moreLine = `${MORE_INPUT} ${nav.more}`;
  const backLine = `${BACK_INPUT} ${nav.back}`;
  // While filling, reserve the longest footer the page could get; the last page's is shorter.
  const reserve = (index: number) => (index === 0 ? `\n${moreLine}` : `\n${moreLine}\n${backLine}`);
  const bodies: string[] = [];
  let current = "";
  const fitsPage = (body: string) => fits(body + reserve(bodies.length), budget);
  const flush = () => {
    bodies.push(current);
    current = "";
  };
  for (const block of clean) {
    const candidate = current ? `${current}\n${block}` : block;
    if (fitsPage(candidate)) {
      current = candidate;
      continue;
    }
    if (current) flush();
    if (fitsPage(block)) {
      current = block;
      continue;
    }
    for (const word of block.split(" ")) {
      const next = current ? `${current} ${word}` : word;
      if (fitsPage(next)) current = next;
      else {
        if (current) flush();
        current = word;
        while (!fitsPage(current)) {
          const cut = longestFittingPrefix(current, fitsPage);
          bodies.push(current.slice(0, cut));
          current = current.slice(cut);
        }
      }
    }
    // The next block starts on a new line of the same page when there is room.
  }
  if (current) flush();
  const pages = bodies.slice(0, MAX_PAGES);
  return pages.map((body, i) => {
    const last = i === pages.length - 1;
    const footer = [last ? null : moreLine, i > 0 && !(last && ends) ? backLine : null].filter((l) => l !== null);
    return toAir([body, ...footer].join("\n"));
  });
}

/** Last resort for a single word longer than a page: cut between code points. */
function longestFittingPrefix(text: string, ok: (s: string) => boolean): number {
  const points = [...text];
  let n = points.length - 1;
  while (n > 1 && !ok(points.slice(0, n).join(""))) n--;
  return points.slice(0, Math.max(1, n)).join("").length;
}
