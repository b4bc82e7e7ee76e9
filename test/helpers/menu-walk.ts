// Driving the customer menu engine in unit tests as a channel would: dial, then answer each input.
import { customerMenuEngine, type MenuContext, type MenuState, type StepResult } from "../../src/menus/index.js";

const engine = customerMenuEngine();

/** The message keys of a step's reply, in order. */
export const replyKeys = (r: StepResult): string[] => r.reply.lines.map((l) => l.key);

/** Dials (with an optional shortcut such as `*384*1#`'s ["1"]) and answers each input in turn; every step's result. */
export async function walk(ctx: MenuContext, inputs: string[], shortcut: string[] = []): Promise<StepResult[]> {
  const out = [await engine.begin(ctx, shortcut)];
  let state: MenuState = out[0]!.state;
  for (const input of inputs) {
    if (!out.at(-1)!.continues) throw new Error("session already ended");
    const next = await engine.next(state, input, ctx);
    out.push(next);
    state = next.state;
  }
  return out;
}
