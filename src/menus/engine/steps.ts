/** Helpers every flow uses to build its next state and reply. */
import type { MenuContext } from "../ports.js";
import type { FlowId, Message, MenuState, Reply, StepResult } from "./types.js";

export type Step = (state: MenuState, input: string, ctx: MenuContext) => Promise<StepResult>;

export interface Flow {
  id: FlowId;
  /** Enters the flow; prefill holds dial-string shortcut values (e.g. payee and amount). */
  start(state: MenuState, ctx: MenuContext, prefill?: string[]): Promise<StepResult>;
  steps: Record<string, Step>;
}

// Keep session state small: at most this many data fields, each at most this long.
const MAX_DATA_FIELDS = 12;
const MAX_DATA_CHARS = 256;

export function at(state: MenuState, flow: FlowId, step: string, data: Record<string, string> = {}): MenuState {
  const entries = Object.entries(data);
  if (entries.length > MAX_DATA_FIELDS) throw new Error("menu state: too many data fields");
  for (const [, value] of entries) if (value.length > MAX_DATA_CHARS) throw new Error("menu state: data value too long");
  return { ...state, flow, step, data };
}

/** A screen that waits for an answer. */
export function ask(state: MenuState, lines: Message[], options?: Reply["options"], secret = false): StepResult {
  const reply: Reply = { lines };
  if (options && options.length > 0) reply.options = options;
  if (secret) reply.secret = true;
  return { state, reply, continues: true };
}

/** A screen that ends the session. */
export function end(state: MenuState, lines: Message[]): StepResult {
  return { state, reply: { lines }, continues: false };
}

export function option(choice: string, key: string): { choice: string; label: Message } {
  return { choice, label: { key } };
}

/** Hands over to another flow; notice (optional) is shown above its first screen. */
export function jump(state: MenuState, flow: FlowId, prefill?: string[], notice?: Message): StepResult {
  return { state, reply: { lines: [] }, continues: true, jump: { flow, ...(prefill ? { prefill } : {}), ...(notice ? { notice } : {}) } };
}

/** Prepends a notice (an error saying why the same question is asked again) to a result. */
export function withNotice(result: StepResult, notice: Message | undefined): StepResult {
  if (!notice) return result;
  return { ...result, reply: { ...result.reply, lines: [notice, ...result.reply.lines] } };
}
