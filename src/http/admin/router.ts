import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { bodyFault, isRequestFault, jsonBody, storableRequest } from "../body-guard.js";
import { HttpError } from "../errors.js";
import { mountRoute } from "./handler.js";
import { sendJson } from "./json.js";
import { openApiDocument } from "./openapi.js";
import { reply, route, type AnyRoute } from "./registry.js";
import { agentRoutes } from "./routes/agents.js";
import { apiKeyRoutes } from "./routes/api-keys.js";
import { auditRoutes } from "./routes/audit.js";
import { customerRoutes } from "./routes/customers.js";
import { feeRoutes } from "./routes/fees.js";
import { institutionRoutes } from "./routes/institutions.js";
import { limitRoutes } from "./routes/limits.js";
import { reportRoutes } from "./routes/reports.js";
import { smsLinkRoutes } from "./routes/sms-links.js";
import { smsMessageRoutes } from "./routes/sms-messages.js";
import { tariffPlanRoutes, telcoRoutes } from "./routes/tariffs.js";
import { buildAdminServices, type AdminDeps, type AdminServices } from "./services.js";

// Configuration documents are small; a larger body is a mistake or an attack.
const MAX_BODY = "64kb";

/** Every admin route, in the order of the document. */
export function adminRoutes(s: AdminServices): AnyRoute[] {
  return [
    ...institutionRoutes(s),
    ...apiKeyRoutes(s),
    ...limitRoutes(s),
    ...feeRoutes(s),
    ...telcoRoutes(s),
    ...tariffPlanRoutes(s),
    ...smsLinkRoutes(s),
    ...smsMessageRoutes(s),
    ...customerRoutes(s),
    ...agentRoutes(s),
    ...reportRoutes(s),
    ...auditRoutes(s),
  ];
}

/**
 * The admin API under /admin/v1 and its OpenAPI document at /openapi.json, as one Express router
 * with its own error handling, so it can be mounted in front of any app.
 */
export function adminRouter(deps: AdminDeps): Router {
  const services = buildAdminServices(deps);
  const routes = adminRoutes(services);
  let document: unknown;
  routes.push(
    route({
      id: "getOpenApiDocument",
      method: "get",
      path: "/openapi.json",
      summary: "This document",
      tag: "meta",
      access: "public",
      success: { status: 200, description: "OpenAPI 3.1" },
      async handle() {
        document ??= openApiDocument(routes);
        return reply(document);
      },
    }),
  );
  const router = express.Router();
  router.use("/admin", storableRequest, jsonBody(MAX_BODY));
  for (const def of routes) mountRoute(router, def, services);
  router.use("/admin", (_req: Request, _res: Response, next: NextFunction) => next(new HttpError(404, "not_found", "no such route")));
  router.use(errorHandler(deps));
  return router;
}

/** Errors in the admin API leave in the same JSON shape as refusals; internals are logged only. */
function errorHandler(deps: AdminDeps) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof HttpError) {
      sendJson(res, error.status, { error: { code: error.code, message: error.message } });
      return;
    }
    const fault = isRequestFault(error) ? error : bodyFault(error, MAX_BODY);
    if (fault?.status === 413) {
      sendJson(res, 413, { error: { code: "payload_too_large", message: `request bodies are limited to ${MAX_BODY}` } });
      return;
    }
    if (fault) {
      const code = fault.status === 415 ? "unsupported_media_type" : "invalid_request";
      sendJson(res, fault.status, { error: { code, message: "the request is invalid; see details", details: [{ path: fault.path, message: fault.message }] } });
      return;
    }
    deps.logger.error({ err: error, path: req.path }, "admin API error");
    sendJson(res, 500, { error: { code: "internal", message: "internal error" } });
  };
}
