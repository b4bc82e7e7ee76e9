/**
 * Splits a screen into pages that each fit one USSD message, with "98 More" and "0 Back". Blocks
 * (paragraphs and option lines) are kept whole when they fit a page; a paragraph longer than a page
 * is split between words. A single word longer than a page (an agent's shop name may be 100
 * characters with no space, and a UCS-2 page holds 80) is split after a hyphen, slash or other
 * punctuation where it has one, and only otherwise cut.
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

/** Where a long word reads well split: after these ("…TOTAL-" / "PETROL", "Shop/" / "Duka"). */
const BREAK_AFTER = new Set("-\u2010\u2011\u2013\u2014/\\.,;:_)]}!?&+|");

/**
 * For a single word longer than a page, the length of its first piece: the longest prefix that
 * fits, ending after punctuation when some lies in its second half (an earlier break would waste
 * most of the page), else cut between code points. Any prefix of a fitting prefix fits too.
 */
function longestFittingPrefix(text: string, ok: (s: string) => boolean): number {
  const points = [...text];
  let n = points.length - 1;
  while (n > 1 && !ok(points.slice(0, n).join(""))) n--;
  n = Math.max(1, n);
  for (let i = n; i > 1 && i * 2 >= n; i--) if (BREAK_AFTER.has(points[i - 1]!)) return points.slice(0, i).join("").length;
  return points.slice(0, n).join("").length;
}
