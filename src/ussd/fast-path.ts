/**
 * Africa's Talking hops served straight off node:http, ahead of Express. Express's handling of a
 * request (prototype swaps, two routers, a chain of middleware) cost about as much CPU as all the
 * rest of a hop, and hops are nearly all of the gateway's traffic.
 *
 * Only a plainly well-formed hop takes this path: POST to exactly /ussd/<name> (or
 * /ussd/<name>/<secret>), a form body whose declared length is within the limit, and the
 * aggregator's address and secret accepted. Anything else goes to Express with its body unread and
 * gets the answer it always got there (401, 403, 413, a chunked body, the events callback, other
 * routes). Past that point the answers are the Express route's: the same statuses and texts.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type express from "express";
import { africasTalkingAnswer, AT_FORM_LIMITS } from "./africastalking.js";
import { authCheck, secretHeader, type AuthCheck } from "./auth.js";
import { isForm, parseForm, readBody } from "./form-body.js";
import { failure, type AggregatorConfig, type UssdRouterDeps } from "./router.js";

/** Serves the request and answers true, or leaves it untouched and answers false. */
export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean;

interface Endpoint {
  name: string;
  check: AuthCheck;
  /** Where the secret is: this header, or (null) the path's last segment. */
  header: string | null;
  /** The aggregator's configured short code, which requests must name (router.ts AggregatorConfig). */
  serviceCode: string | undefined;
}

export function hopFastPath(deps: UssdRouterDeps): FastPath {
  const endpoints = new Map<string, Endpoint>();
  for (const a of deps.aggregators) if (a.dialect === "africastalking") endpoints.set(`/ussd/${a.name}`, endpointOf(a));
  return (req, res) => {
    if (req.method !== "POST" || req.url === undefined) return false;
    const found = route(endpoints, req.url);
    if (!found || !isForm(req)) return false;
    const declared = req.headers["content-length"];
    if (declared === undefined || !(Number(declared) <= AT_FORM_LIMITS.bytes)) return false;
    const { endpoint, pathSecret } = found;
    const given = endpoint.header === null ? pathSecret : req.headers[endpoint.header];
    if (endpoint.check(req.socket.remoteAddress, given) !== null) return false;
    serve(deps, endpoint, req, res);
    return true;
  };
}

function endpointOf(aggregator: AggregatorConfig): Endpoint {
  return {
    name: aggregator.name,
    check: authCheck(aggregator),
    header: aggregator.secretIn === "path" ? null : secretHeader(aggregator),
    serviceCode: aggregator.serviceCode,
  };
}

/** Exact paths only: anything Express would have to normalise or decode (case, trailing slash, %, query) is left to it. */
function route(endpoints: Map<string, Endpoint>, url: string): { endpoint: Endpoint; pathSecret?: string } | null {
  const endpoint = endpoints.get(url);
  if (endpoint) return endpoint.header === null ? null : { endpoint };
  const cut = url.lastIndexOf("/");
  const prefixed = cut > 0 ? endpoints.get(url.slice(0, cut)) : undefined;
  const pathSecret = url.slice(cut + 1);
  if (!prefixed || prefixed.header !== null || pathSecret === "" || /[%?#]/.test(pathSecret)) return null;
  return { endpoint: prefixed, pathSecret };
}

function serve(deps: UssdRouterDeps, endpoint: Endpoint, req: IncomingMessage, res: ServerResponse): void {
  readBody(req, AT_FORM_LIMITS.bytes, (text) => {
    if (text === "too-large") {
      // The declared length was within the limit, so the parser cannot deliver more; kept for safety.
      res.setHeader("connection", "close");
      send(res, 413, "END request too large");
      req.resume();
      return;
    }
    const fields = text === "failed" ? null : parseForm(text, AT_FORM_LIMITS.fields);
    if (!fields) return send(res, 400, "END bad request");
    africasTalkingAnswer(endpoint.name, deps.hops, fields, { serviceCode: endpoint.serviceCode }).then(
      (answer) => send(res, answer.status, answer.text),
      (error: unknown) => send(res, 500, failure(error, (req.url ?? "").split("?")[0]!, deps.logger)),
    );
  });
}

function send(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader("content-type", "text/plain; charset=utf-8");
  res.end(text);
}

/**
 * Puts the fast path in front of an Express app (the composition root's): its hops never enter
 * Express, and every other request goes through the app exactly as before.
 */
export function serveHopsFirst<T extends express.Express>(app: T, fast: FastPath): T {
  const handled = app as unknown as { handle(req: IncomingMessage, res: ServerResponse, next?: unknown): void };
  const handle = handled.handle;
  handled.handle = function (this: unknown, req, res, next) {
    if (!fast(req, res)) handle.call(this, req, res, next);
  };
  return app;
}
