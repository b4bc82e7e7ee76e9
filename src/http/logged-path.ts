/**
 * A request path as it may be logged. A channel's callback may carry its aggregator's secret as a
 * path segment (`/ussd/<name>/<secret>`), and a request to such a path with the wrong method or a
 * wrong secret is still logged (the request log, a 404, an error): every segment after the
 * channel's name is masked by its position, whatever its length or the name's, but the routes' own
 * words. Other paths name no secret (ids, the API's words) and are kept.
 */
const CHANNEL_ROOTS: ReadonlySet<string> = new Set(["ussd", "sms"]);
const ROUTE_WORDS: ReadonlySet<string> = new Set(["", "events", "mo"]);

export function loggedPath(path: string): string {
  const segments = path.split("/");
  if (!CHANNEL_ROOTS.has((segments[1] ?? "").toLowerCase())) return path;
  for (let i = 3; i < segments.length; i++) if (!ROUTE_WORDS.has(segments[i]!)) segments[i] = "[secret]";
  return segments.join("/");
}
