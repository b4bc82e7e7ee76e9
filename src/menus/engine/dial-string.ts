/**
 * Dial strings as every channel receives them (an aggregator's field, an SMPP begin's text): which
 * segments follow the service code's own, the shortcut the engine opens. One reading for all
 * channels, so that a shortcut means the same whichever way the telco connects.
 */

/**
 * A dial string's or a service code's segments, with or without the `*` and `#`: "*711*2#" and
 * "711*2" → ["711", "2"]; anything that is not a dial string → []. Empty segments are kept: they
 * are positional ("*384*2**100#" names no payee, not payee 100).
 */
export function dialSegments(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed === "" || !/^[*#]?[0-9*#]*#?$/.test(trimmed)) return [];
  return trimmed.replace(/^\*/, "").replace(/#$/, "").split("*");
}

/**
 * The dial string's segments after the service code's own: "*384*2*0712345678*500#" on "*384#" →
 * ["2", "0712345678", "500"]; "*711*2*1#" on "711*2" → ["1"]. A code with an extension has more
 * than one segment of its own, and reading its extension as a shortcut would open that flow on
 * every plain dial. A dial that does not start with the code, or adds only empty segments
 * ("*384*#"), has none: the main menu (or the resume offer).
 */
export function shortcutOf(dialed: string, serviceCode: string): string[] {
  const code = dialSegments(serviceCode);
  const dial = dialSegments(dialed);
  if (code.length === 0 || dial.length <= code.length || code.some((segment, i) => segment !== dial[i])) return [];
  const rest = dial.slice(code.length);
  return rest.every((segment) => segment === "") ? [] : rest;
}
