/**
 * Reading an SMS command: the first word names the command (in any supported language), the rest
 * are its arguments. Pure: no I/O. The PIN is an argument like any other here; redactedText says
 * what a log may show of a message.
 */
import { asciiDigits, type Language } from "../../menus/index.js";
import type { CommandName, Vocabulary } from "./vocabulary.js";

export type ParsedCommand =
  | { kind: "balance" | "statement"; lang: Language; pin: string }
  | { kind: "send"; lang: Language; payee: string; amount: string; pin: string }
  | { kind: "language"; lang: Language; target: Language }
  | { kind: "help" | "stop" | "start"; lang: Language }
  /** The command word was right but its arguments were not: answer with that command's usage. */
  | { kind: "usage"; lang: Language; command: CommandName }
  | { kind: "unknown"; lang: Language | null };

/** Longer messages are not commands; they are refused before any word is read. */
export const MAX_COMMAND_CHARS = 160;
const PIN_RE = /^\d{4,6}$/;
const MAX_PAYEE_CHARS = 32;
const MAX_AMOUNT_CHARS = 20;

export function parseCommand(text: string, vocabulary: Vocabulary): ParsedCommand {
  if (text.length > MAX_COMMAND_CHARS) return { kind: "unknown", lang: null };
  const words = asciiDigits(text).trim().split(/\s+/).filter((w) => w.length > 0);
  const head = words[0];
  if (head === undefined) return { kind: "unknown", lang: null };
  const found = vocabulary.command(head);
  if (!found) return { kind: "unknown", lang: null };
  const { command, lang } = found;
  const args = words.slice(1);
  const usage: ParsedCommand = { kind: "usage", lang, command };
  switch (command) {
    case "balance":
    case "statement":
      return args.length === 1 && PIN_RE.test(args[0]!) ? { kind: command, lang, pin: args[0]! } : usage;
    case "send": {
      if (args.length !== 3) return usage;
      const [payee, amount, pin] = args as [string, string, string];
      if (!PIN_RE.test(pin) || payee.length > MAX_PAYEE_CHARS || amount.length > MAX_AMOUNT_CHARS) return usage;
      return { kind: "send", lang, payee, amount, pin };
    }
    case "language": {
      const target = args.length === 1 ? vocabulary.language(args[0]!) : null;
      return target ? { kind: "language", lang, target } : usage;
    }
    default:
      return args.length === 0 ? { kind: command, lang } : usage;
  }
}

/**
 * What may be logged or stored of an MO text: the command word alone when it is one (arguments
 * may hold a PIN), and nothing of a text that is not a command (it may hold one anywhere).
 */
export function redactedText(text: string, vocabulary: Vocabulary): string {
  const head = text.trim().split(/\s+/)[0] ?? "";
  const found = head ? vocabulary.command(head) : null;
  return found ? found.command : "[text]";
}
