/**
 * Runs flows: starts a session (who is calling, which shortcut), feeds each input to the current
 * step, enforces the limits, and follows hand-overs between flows. It holds no state of its own.
 */
import type { MenuContext } from "../ports.js";
import { end, type Flow } from "./steps.js";
import { msg, type FlowId, type MenuState, type StepResult } from "./types.js";

export type FlowTable = Record<FlowId, Flow>;

/** The home shortcut: from any screen of a registered customer back to the main menu. */
export const HOME_INPUT = "00";
// A flow hands over at most this many times in one hop; more would be a loop.
const MAX_JUMPS = 4;

/** Dial-string shortcuts (*384*<choice>*…#) map to the main menu's numbering. */
const SHORTCUTS: Record<string, FlowId> = { "1": "balance", "2": "send", "3": "statement", "4": "change_pin", "5": "language", "6": "account" };

export class MenuEngine {
  constructor(private readonly flows: FlowTable) {}

  /** The first screen of a session. shortcut holds the dial string's extra segments, if any. */
  async begin(ctx: MenuContext, shortcut: string[] = []): Promise<StepResult> {
    const customer = await ctx.directory.findByMsisdn(ctx.msisdn, ctx.institutionId);
    const state: MenuState = { flow: "main", step: "choose", data: {}, stages: 0, lang: customer?.language ?? ctx.defaultLanguage, customer };
    if (!customer) return this.follow(await this.flows.register.start(state, ctx), ctx);
    if (!customer.active) return end(state, [msg("err.account_frozen")]);
    const [first, ...rest] = shortcut;
    const flow = first !== undefined && Object.hasOwn(SHORTCUTS, first) ? SHORTCUTS[first] : undefined;
    if (!flow) return this.follow(await this.flows.main.start(state, ctx), ctx);
    const prefill = rest.slice(0, 2).filter((value) => value.length > 0 && value.length <= ctx.limits.maxInputChars);
    return this.follow(await this.flows[flow].start(state, ctx, prefill), ctx);
  }

  /** One answer to the current screen. */
  async next(state: MenuState, input: string, ctx: MenuContext): Promise<StepResult> {
    const stages = state.stages + 1;
    if (input.length > ctx.limits.maxInputChars) return end(state, [msg("err.input_too_long")]);
    if (stages > ctx.limits.maxStages) return end(state, [msg("err.too_many_stages")]);
    const current: MenuState = { ...state, stages };
    if (input === HOME_INPUT && current.customer) return this.follow(await this.flows.main.start({ ...current, data: {} }, ctx), ctx);
    const flow = Object.hasOwn(this.flows, current.flow) ? this.flows[current.flow] : undefined;
    const step = flow && Object.hasOwn(flow.steps, current.step) ? flow.steps[current.step] : undefined;
    if (!step) {
      // A state from an older release, or a finished flow: start over rather than guess.
      return current.customer ? this.follow(await this.flows.main.start(current, ctx), ctx) : this.begin(ctx);
    }
    return this.follow(await step(current, input, ctx), ctx);
  }

  private async follow(result: StepResult, ctx: MenuContext): Promise<StepResult> {
    let current = result;
    for (let i = 0; current.jump && i < MAX_JUMPS; i++) {
      const { flow, prefill, notice } = current.jump;
      const started = await this.flows[flow].start({ ...current.state, data: {} }, ctx, prefill);
      current = notice ? { ...started, reply: { ...started.reply, lines: [notice, ...started.reply.lines] } } : started;
    }
    if (current.jump) throw new Error("menu: flows handed over in a loop");
    return current;
  }
}
