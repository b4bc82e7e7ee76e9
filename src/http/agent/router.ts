import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { bodyFault, isRequestFault, jsonBody, storableRequest } from "../body-guard.js";
import type { z } from "zod";
import type { Agents } from "../../core/agents/agents.js";
import type { AgentDeviceKeys } from "../../core/agents/device-keys.js";
import type { Logger } from "../../infra/log.js";
import { sendJson } from "../admin/json.js";
import { agentOpenApiDocument } from "./openapi.js";
import { AGENT_API_REFUSALS, type AgentApiCode } from "./refusals.js";
import { AGENT_API_PREFIX, type AgentReply, type AnyAgentRoute } from "./registry.js";
import { agentApiRoutes } from "./routes.js";

export interface AgentApiDeps {
  agents: Agents;
  keys: AgentDeviceKeys;
  logger: Logger;
}

// Requests are a handful of fields; anything larger is a mistake or an attack.
const MAX_BODY = "8kb";
const BEARER_RE = /^Bearer[ ]+([^\s]+)[ ]*$/i;
export const AGENT_OPENAPI_PATH = `${AGENT_API_PREFIX}/openapi.json`;

const expressPath = (path: string) => path.replace(/\{([A-Za-z0-9_]+)\}/g, ":$1");

function fail(res: Response, code: AgentApiCode, extra: Record<string, unknown> = {}): void {
  const [status, message] = AGENT_API_REFUSALS[code];
  if (status === 401 && code === "unauthenticated") res.set("WWW-Authenticate", 'Bearer realm="fingate-agent"');
  sendJson(res, status, { error: { code, message, ...extra } });
}

function issues(location: string, error: z.ZodError) {
  return error.issues.flatMap((issue) => {
    const base = [location, ...issue.path.map(String)];
    if (issue.code === "unrecognized_keys") return issue.keys.map((key) => ({ path: [...base, key].join("."), message: "is not a known field" }));
    return [{ path: base.join("."), message: issue.message }];
  });
}

/** Authenticate the device key → validate → handle; every refusal leaves as { error: { code, message } }. */
async function run(def: AnyAgentRoute, req: Request, keys: AgentDeviceKeys): Promise<AgentReply> {
  const token = BEARER_RE.exec(req.get("authorization") ?? "")?.[1];
  const agent = token ? await keys.authenticate(token) : null;
  if (!agent) return { ok: false, code: "unauthenticated" };
  const details: { path: string; message: string }[] = [];
  const parse = (location: string, schema: z.ZodType | undefined, raw: unknown): unknown => {
    if (!schema) return undefined;
    const result = schema.safeParse(raw);
    if (result.success) return result.data;
    details.push(...issues(location, result.error));
    return undefined;
  };
  const input = {
    agent,
    params: parse("path", def.params, { ...req.params }),
    query: parse("query", def.query, { ...(req.query as Record<string, unknown>) }),
    body: parse("body", def.body, req.body),
  };
  if (details.length > 0) return { ok: false, code: "invalid_request", details };
  return def.handle(input as Parameters<AnyAgentRoute["handle"]>[0]);
}

function render(res: Response, result: AgentReply): void {
  if (result.ok) {
    sendJson(res, result.status, result.body);
    return;
  }
  const extra: Record<string, unknown> = {};
  if (result.details?.length) extra.details = result.details;
  if (result.availableMinor !== undefined) extra.availableMinor = result.availableMinor;
  if (result.until !== undefined) extra.until = result.until;
  fail(res, result.code, extra);
}

/** The agent point-of-sale API under /agent/v1, with its OpenAPI document, as one router. */
export function agentApiRouter(deps: AgentApiDeps): Router {
  const routes = agentApiRoutes(deps.agents);
  const document = agentOpenApiDocument(routes, AGENT_OPENAPI_PATH);
  const router = express.Router();
  router.get(AGENT_OPENAPI_PATH, (_req, res) => sendJson(res, 200, document));
  router.use(AGENT_API_PREFIX, storableRequest, jsonBody(MAX_BODY));
  for (const def of routes) {
    router[def.method](expressPath(def.path), (req: Request, res: Response, next: NextFunction) => {
      run(def, req, deps.keys).then((result) => render(res, result), next);
    });
  }
  router.use(AGENT_API_PREFIX, (_req: Request, res: Response) => fail(res, "not_found"));
  router.use((error: unknown, req: Request, res: Response, next: NextFunction) => {
    if (!req.path.startsWith(AGENT_API_PREFIX)) return next(error);
    const fault = isRequestFault(error) ? error : bodyFault(error, MAX_BODY);
    const code = fault?.status === 413 ? "payload_too_large" : fault?.status === 415 ? "unsupported_media_type" : "invalid_request";
    if (fault) return fail(res, code, { details: [{ path: fault.path, message: fault.message }] });
    deps.logger.error({ err: error, path: req.path }, "agent API error");
    sendJson(res, 500, { error: { code: "internal", message: "internal error" } });
  });
  return router;
}
