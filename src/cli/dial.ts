/**
 * `fingate dial '*384#' --msisdn +254700000001`: a phone in the terminal. It talks the Africa's
 * Talking USSD protocol to a running gateway as the aggregator would (form POST with sessionId,
 * serviceCode, phoneNumber, networkCode and the cumulative `text`, every input so far joined by
 * `*`), prints each screen, reads the next input from stdin, and stops on END.
 *
 * Works with a pipe too: each stdin line is one input (echoed, masked when the screen asks for a
 * PIN), which is how the end-to-end test drives it. On a terminal, what is typed on a PIN screen
 * is echoed as "*" and no input is kept in readline's history.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { createInterface, type Interface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { parseArgs } from "node:util";
import { readDemoSecret } from "../demo/secret.js";

export const DIAL_USAGE = `usage: fingate dial <dial string> [options]

  <dial string>        e.g. '*384#', or '*384*1#' to pass "1" as the first input (a shortcut)
  --msisdn <number>    the caller, E.164 (default +254700000001, the demo's Jane Wanjiru)
  --url <url>          the gateway (default http://localhost:$PORT, PORT default 3000)
  --secret <secret>    the Africa's Talking secret (default FINGATE_USSD_AT_SECRET, else the demo
                       secret in $FINGATE_DATA_DIR/demo-ussd-secret, default ./data)
  --aggregator <name>  the aggregator's route, POST /ussd/<name> (default at)
  --network <code>     networkCode sent to the gateway (default 63902, the demo telco)

Each line read from stdin is one answer; the session ends on the gateway's END or at end of input.`;

export interface DialOptions {
  serviceCode: string;
  /** The dial string's extra parts, as aggregators pass them: "*384*1#" → "1". */
  initialText: string;
  msisdn: string;
  url: string;
  secret: string;
  aggregator: string;
  networkCode: string;
}

export interface DialIo {
  input: Readable;
  output: Writable;
  errors: Writable;
  /** A terminal: readline echoes what is typed, so inputs are not echoed again. */
  interactive: boolean;
  fetch?: typeof fetch;
  newSessionId?: () => string;
}

const DIAL_RE = /^\*?([0-9]{1,10})((?:\*[0-9]*)*)#?$/;
const MSISDN_RE = /^\+[1-9][0-9]{6,14}$/;
const NAME_RE = /^[a-z0-9-]{1,32}$/;
const HOP_TIMEOUT_MS = 15_000;
// Screens that ask for a PIN, in the locales we ship; an answer to one is echoed masked.
const PIN_PROMPT_RE = /PIN|पिन/i;

/** "*384*2*0712345678*500#" → service code "*384#", initial text "2*0712345678*500". */
export function parseDialString(dial: string): { serviceCode: string; initialText: string } | null {
  const m = DIAL_RE.exec(dial.trim());
  if (!m) return null;
  const parts = (m[2] ?? "").split("*").slice(1).filter((p) => p.length > 0);
  return { serviceCode: `*${m[1]}#`, initialText: parts.join("*") };
}

export type ParsedDial = { ok: true; options: DialOptions } | { ok: false; message: string; usage: boolean };

/** The command line and the environment → options; the secret falls back to the demo's file. */
export async function parseDialArgs(argv: string[], env: NodeJS.ProcessEnv): Promise<ParsedDial> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        msisdn: { type: "string" },
        url: { type: "string" },
        secret: { type: "string" },
        aggregator: { type: "string" },
        network: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error), usage: true };
  }
  const { values, positionals } = parsed;
  if (values.help) return { ok: false, message: "", usage: true };
  if (positionals.length !== 1) return { ok: false, message: "give exactly one dial string, e.g. '*384#' (quote it: the shell expands * and #)", usage: true };
  const dial = parseDialString(positionals[0]!);
  if (!dial) return { ok: false, message: `not a USSD dial string: ${positionals[0]}`, usage: true };
  const msisdn = (values.msisdn ?? "+254700000001").replace(/[\s-]/g, "");
  if (!MSISDN_RE.test(msisdn)) return { ok: false, message: `--msisdn must be an E.164 number such as +254700000001, got ${values.msisdn}`, usage: false };
  const aggregator = values.aggregator ?? "at";
  if (!NAME_RE.test(aggregator)) return { ok: false, message: `bad --aggregator: ${aggregator}`, usage: false };
  const base = values.url ?? `http://localhost:${env.PORT?.trim() || "3000"}`;
  let url: URL;
  try {
    // Relative to the URL's path, which is kept: a gateway behind a proxy at http://host/fingate
    // is reached at /fingate/ussd/at (an absolute "/ussd/at" dropped the prefix and got a 404).
    url = new URL(`ussd/${aggregator}`, base.endsWith("/") ? base : `${base}/`);
  } catch {
    return { ok: false, message: `bad --url: ${base}`, usage: false };
  }
  const dataDir = path.resolve(env.FINGATE_DATA_DIR?.trim() || "./data");
  const secret = values.secret ?? (env.FINGATE_USSD_AT_SECRET?.trim() || (await readDemoSecret(dataDir)));
  if (!secret) {
    return {
      ok: false,
      message: `no secret: pass --secret, set FINGATE_USSD_AT_SECRET, or start the demo gateway (npm start) so that it writes ${path.join(dataDir, "demo-ussd-secret")}`,
      usage: false,
    };
  }
  const networkCode = values.network ?? "63902";
  if (!/^[0-9]{5,6}$/.test(networkCode)) return { ok: false, message: `--network must be an MCC+MNC such as 63902, got ${networkCode}`, usage: false };
  return { ok: true, options: { ...dial, msisdn, url: url.toString(), secret, aggregator, networkCode } };
}

/** Runs one session; 0 when the gateway ended it, 1 on an error or when input ran out first. */
export async function runDial(options: DialOptions, io: DialIo): Promise<number> {
  const doFetch = io.fetch ?? fetch;
  const sessionId = io.newSessionId?.() ?? `ATUid_dial_${randomBytes(8).toString("hex")}`;
  const rl = createInterface({ input: io.input, output: io.interactive ? io.output : undefined, terminal: io.interactive, historySize: 0 });
  const echo = maskableEcho(rl);
  // Ctrl-C on a terminal hangs up, like ending the input.
  rl.on("SIGINT", () => rl.close());
  rl.setPrompt("> ");
  const lines = rl[Symbol.asyncIterator]();
  const parts: string[] = options.initialText === "" ? [] : options.initialText.split("*");
  const write = (s: string) => io.output.write(s);
  write(`Dialling ${options.serviceCode}${options.initialText ? ` (shortcut ${options.initialText})` : ""} as ${options.msisdn} → ${options.url}\n\n`);
  try {
    for (;;) {
      const hop = await postHop(doFetch, options, sessionId, parts.join("*"));
      if (!hop.ok) {
        io.errors.write(`${hop.message}\n`);
        return 1;
      }
      write(`${hop.text}\n`);
      if (hop.end) {
        write(`\n[session ended]\n`);
        return 0;
      }
      const pinScreen = PIN_PROMPT_RE.test(hop.text);
      echo.mask(pinScreen);
      if (io.interactive) rl.prompt();
      else write("> ");
      const next = await lines.next();
      if (next.done) {
        write("\n");
        io.errors.write("input ended before the session did; hanging up\n");
        await notifyEnd(doFetch, options, sessionId);
        return 1;
      }
      const input = next.value.trim();
      if (!io.interactive) write(`${pinScreen && /^[0-9]{4,6}$/.test(input) ? "*".repeat(input.length) : input}\n`);
      write("\n");
      parts.push(input);
    }
  } finally {
    rl.close();
  }
}

// An escape sequence (cursor moves while readline redraws the line, kept) or a digit (masked).
// eslint-disable-next-line no-control-regex -- ESC is exactly what has to be matched here
const ESCAPE_OR_DIGIT = /(\u001b\[[0-9;?]*[A-Za-z])|[0-9]/g;

/**
 * On a terminal readline echoes each key through _writeToOutput (internal, but stable since Node
 * 10 and what password prompts use); while a PIN screen waits, digits go out as "*".
 */
function maskableEcho(rl: Interface): { mask(on: boolean): void } {
  const internal = rl as unknown as { _writeToOutput?: (s: string) => void };
  const write = internal._writeToOutput?.bind(rl);
  let masking = false;
  if (write) internal._writeToOutput = (s: string) => write(masking ? s.replace(ESCAPE_OR_DIGIT, (m: string, esc?: string) => esc ?? "*") : s);
  return { mask: (on) => void (masking = on) };
}

type Hop = { ok: true; end: boolean; text: string } | { ok: false; message: string };

async function postHop(doFetch: typeof fetch, o: DialOptions, sessionId: string, text: string): Promise<Hop> {
  const body = new URLSearchParams({ sessionId, serviceCode: o.serviceCode, phoneNumber: o.msisdn, networkCode: o.networkCode, text });
  let res: Response;
  try {
    res = await doFetch(o.url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-fingate-secret": o.secret },
      body,
      signal: AbortSignal.timeout(HOP_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error instanceof Error ? error.message : String(error));
    return { ok: false, message: `cannot reach the gateway at ${o.url} (${cause}); is it running? (npm start)` };
  }
  const reply = await res.text();
  if (res.status === 401 || res.status === 403) {
    return { ok: false, message: `the gateway refused the secret (${res.status}); pass --secret or set FINGATE_USSD_AT_SECRET` };
  }
  if (res.status === 404) return { ok: false, message: `no USSD route at ${o.url} (404): is the channel on, and is --aggregator right?` };
  if (res.status !== 200) return { ok: false, message: `the gateway answered ${res.status}: ${reply.slice(0, 200)}` };
  if (reply.startsWith("CON ") || reply.startsWith("END ")) return { ok: true, end: reply.startsWith("END"), text: reply.slice(4) };
  return { ok: false, message: `not an Africa's Talking reply (expected CON or END): ${reply.slice(0, 200)}` };
}

/** As the aggregator does when the subscriber hangs up: the end-of-session notification (best effort). */
async function notifyEnd(doFetch: typeof fetch, o: DialOptions, sessionId: string): Promise<void> {
  const body = new URLSearchParams({ sessionId, serviceCode: o.serviceCode, phoneNumber: o.msisdn, networkCode: o.networkCode, status: "Incomplete" });
  try {
    await doFetch(`${o.url}/events`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-fingate-secret": o.secret },
      body,
      signal: AbortSignal.timeout(HOP_TIMEOUT_MS),
    });
  } catch {
    // The session times out on the gateway anyway.
  }
}

/** `fingate dial …` over the process's stdin and stdout. */
export async function dialCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = await parseDialArgs(argv, env);
  if (!parsed.ok) {
    if (parsed.message) console.error(parsed.message);
    if (parsed.usage) (parsed.message ? console.error : console.log)(parsed.message ? `\n${DIAL_USAGE}` : DIAL_USAGE);
    return parsed.message ? 2 : 0;
  }
  return runDial(parsed.options, { input: process.stdin, output: process.stdout, errors: process.stderr, interactive: Boolean(process.stdin.isTTY) });
}
