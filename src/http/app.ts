import express, { type NextFunction, type Request, type Response } from "express";
import type { Logger } from "../infra/log.js";
import { HttpError } from "./errors.js";
import { loggedPath } from "./logged-path.js";

export interface AppDeps {
  logger: Logger;
  /** Resolves when the database answers; rejects otherwise. */
  checkDatabase: () => Promise<void>;
  /** How long /readyz waits for checkDatabase before answering 503 (default 2 s). */
  readyTimeoutMs?: number;
}

export const READY_TIMEOUT_MS = 2_000;

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", false);
  app.use(requestLog(deps.logger));

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  const databaseAnswers = sharedCheck(deps.checkDatabase, deps.readyTimeoutMs ?? READY_TIMEOUT_MS);
  app.get("/readyz", async (_req, res) => {
    if (await databaseAnswers()) res.json({ status: "ready", database: "ok" });
    else res.status(503).json({ status: "not_ready", database: "unreachable" });
  });

  app.use((_req, _res, next) => next(new HttpError(404, "not_found", "no such route")));
  app.use(errorHandler(deps.logger));
  return app;
}

/**
 * A database that drops packets never answers: /readyz waited with it, for good, and every probe
 * (a load balancer's, every few seconds) started another check that hung too. Now one check runs
 * at a time, probes arriving meanwhile share its outcome, and each probe answers false (503) once
 * timeoutMs has passed, the check going on.
 */
function sharedCheck(check: () => Promise<void>, timeoutMs: number): () => Promise<boolean> {
  let running: Promise<boolean> | null = null;
  return () => {
    running ??= check().then(
      () => true,
      () => false,
    ).finally(() => (running = null));
    return withDeadline(running, timeoutMs, false);
  };
}

function withDeadline<T>(promise: Promise<T>, ms: number, otherwise: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(otherwise), ms)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** One line per request: method, path without the query string and path-carried secrets, status, time. */
function requestLog(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.debug({ method: req.method, path: loggedPath(req.path), status: res.statusCode, ms: Math.round(ms * 10) / 10 }, "http");
    });
    next();
  };
}

/** Every error leaves as JSON with a stable code; internals are logged, not shown. */
function errorHandler(logger: Logger) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof HttpError) {
      res.status(error.status).json({ error: { code: error.code, message: error.message, details: error.details } });
      return;
    }
    const bodyError = error as { type?: string; status?: number };
    if (bodyError?.type === "entity.parse.failed" || bodyError?.type === "entity.too.large") {
      const status = bodyError.status ?? 400;
      res.status(status).json({ error: { code: "bad_request", message: "malformed or oversized request body" } });
      return;
    }
    logger.error({ err: error, path: loggedPath(req.path) }, "unhandled error");
    res.status(500).json({ error: { code: "internal", message: "internal error" } });
  };
}
