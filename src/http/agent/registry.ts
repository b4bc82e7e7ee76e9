import type { z } from "zod";
import type { Agent } from "../../core/agents/types.js";
import type { AgentApiCode } from "./refusals.js";

export const AGENT_API_PREFIX = "/agent/v1";

export interface AgentHandlerInput<P, Q, B> {
  /** The agent behind the device key (any status: the core refuses what a suspended agent may not do). */
  agent: Agent;
  params: P;
  query: Q;
  body: B;
}

export type AgentReply =
  | { ok: true; status: number; body: unknown }
  | { ok: false; code: AgentApiCode; details?: { path: string; message: string }[]; availableMinor?: bigint; until?: Date | null };

/**
 * One endpoint of the agent API. The router mounts exactly these and the OpenAPI document at
 * /agent/v1/openapi.json is generated from exactly these, so the two cannot disagree.
 */
export interface AgentRouteDef<P = unknown, Q = unknown, B = unknown> {
  id: string;
  method: "get" | "post";
  /** OpenAPI form with the prefix: /agent/v1/cash-outs/{pendingId}. */
  path: string;
  summary: string;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  success: { status: number; description: string; schema?: z.ZodType };
  refusals?: AgentApiCode[];
  handle(input: AgentHandlerInput<P, Q, B>): Promise<AgentReply>;
}

export type AnyAgentRoute = AgentRouteDef<never, never, never>;

export function agentRoute<P = undefined, Q = undefined, B = undefined>(def: AgentRouteDef<P, Q, B>): AnyAgentRoute {
  return def as unknown as AnyAgentRoute;
}

export const ok = (body: unknown, status = 200): AgentReply => ({ ok: true, status, body });
