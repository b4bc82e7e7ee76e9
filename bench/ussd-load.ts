/**
 * The separate processes of `npm run bench:ussd` (bench/ussd.ts forks this file twice):
 *
 *   ussd-load.ts generator   simulated subscribers driving whole flows over HTTP in the Africa's
 *                            Talking dialect; the parent sends it phases over IPC and gets stats back
 *   ussd-load.ts baseline    a bare Express endpoint answering a constant `CON` (the yardstick)
 *
 * Flows (text is cumulative, as Africa's Talking sends it):
 *   balance  ""  "1"  "1*PIN"                                         3 hops, the last a PIN hop
 *   send     ""  "2"  "2*07…"  "2*07…*AMT"  "2*07…*AMT*1"  "…*1*PIN"    6 hops, the last a PIN hop
 * Every reply is checked against the screen the flow expects; anything else is an error and ends
 * the session (the subscriber is then retired, since its interrupted session would be offered back).
 * Targets must be http://127.0.0.1; every request has a timeout and every phase a deadline.
 */
import http from "node:http";
import express from "express";

export interface Subscriber {
  msisdn: string;
  pin: string;
}

export interface InitMessage {
  type: "init";
  subscribers: Subscriber[];
  secret: string;
  runId: string;
  /** Share of sessions that send money (the rest check the balance). */
  sendShare: number;
  /** Sends per subscriber at most (the tier-0 USSD daily count limit). */
  maxSendsPerSubscriber: number;
  requestTimeoutMs: number;
}

export interface ClosedPhase {
  type: "closed";
  url: string;
  /** false against the baseline: any `CON ` reply is fine. */
  checkScreens: boolean;
  /** mixed: balance and send money, each with its PIN; menu_only: send money cancelled at the confirmation (no PIN). */
  flows: "mixed" | "menu_only";
  seconds: number;
  concurrency: number;
  /** How long sessions still running at the deadline may take to finish. */
  drainSeconds: number;
}

export interface OpenPhase {
  type: "open";
  url: string;
  /** false against the baseline: any `CON ` reply is fine, and no send counts against a subscriber. */
  checkScreens: boolean;
  seconds: number;
  /** Target hops per second: each session is followed by the next after its hops / rate seconds. */
  rate: number;
  drainSeconds: number;
}

type HopKind = "menu" | "pin";

export interface PhaseStats {
  /** Hops answered within the measured window (all kinds, and PIN hops alone). */
  hops: number;
  pinHops: number;
  /** All hops answered, including the drain after the window. */
  hopsTotal: number;
  seconds: number;
  sessions: number;
  sessionsCompleted: number;
  /** Open loop: scheduled sessions that could not start because every subscriber was mid-session. */
  sessionsNotStarted: number;
  /** Sessions still running when the drain deadline passed (their requests were abandoned). */
  sessionsUnfinished: number;
  receipts: number;
  balances: number;
  errors: number;
  errorKinds: Record<string, number>;
  /** A few unexpected replies, for the reader (never a PIN: replies do not echo it). */
  errorSamples: string[];
  latency: Record<HopKind, { count: number; p50: number; p90: number; p99: number; max: number }>;
  all: { p50: number; p90: number; p99: number; max: number };
  offeredSessionsPerS: number;
}

interface Plan {
  /** The subscriber's index. */
  i: number;
  steps: Step[];
  send: boolean;
}

interface Step {
  text: string;
  kind: HopKind;
  expect: RegExp;
}

const MAIN_MENU = /^CON Welcome to fingate\n1\. Balance\n2\. Send money\n/;

function balanceFlow(s: Subscriber): Step[] {
  return [
    { text: "", kind: "menu", expect: MAIN_MENU },
    { text: "1", kind: "menu", expect: /^CON Enter your PIN:$/ },
    { text: `1*${s.pin}`, kind: "pin", expect: /^END Your balance is KES [0-9,]+\.[0-9]{2}\.$/ },
  ];
}

function sendFlow(s: Subscriber, payee: Subscriber, amount: number): Step[] {
  const national = `0${payee.msisdn.slice(4)}`; // +254712… → 0712…
  const t = ["2", national, String(amount), "1", s.pin];
  const upTo = (n: number) => t.slice(0, n).join("*");
  return [
    { text: "", kind: "menu", expect: MAIN_MENU },
    { text: upTo(1), kind: "menu", expect: /^CON Enter the phone number or alias to pay:$/ },
    { text: upTo(2), kind: "menu", expect: /^CON Pay [A-Z]+ [A-Z]\*\*\*\. Enter the amount in KES:$/ },
    { text: upTo(3), kind: "menu", expect: /^CON Send KES [0-9,.]+ to [A-Z]+ [A-Z]\*\*\*\?\nFee KES [0-9,.]+\. Total KES [0-9,.]+\.\n1\. Confirm\n2\. Cancel$/ },
    { text: upTo(4), kind: "menu", expect: /^CON Enter your PIN to confirm:$/ },
    { text: upTo(5), kind: "pin", expect: /^END Sent KES [0-9,.]+ to [A-Z]+ [A-Z]\*\*\*\. Ref [0-9A-F]{10}\.\nFee KES [0-9,.]+\.$/ },
  ];
}

/** Send money up to the confirmation, then "2" Cancel: five hops, no PIN, no money moved. */
function cancelledSendFlow(s: Subscriber, payee: Subscriber, amount: number): Step[] {
  const steps = sendFlow(s, payee, amount).slice(0, 4);
  steps.push({ text: `${steps[3]!.text}*2`, kind: "menu", expect: /^END Cancelled\. No money was moved\.$/ });
  return steps;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return Number(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!.toFixed(2));
}

function localOnly(url: string): URL {
  const u = new URL(url);
  if (u.protocol !== "http:" || u.hostname !== "127.0.0.1") throw new Error(`bench targets must be http://127.0.0.1, got ${url}`);
  return u;
}

class Recorder {
  hops = 0;
  pinHops = 0;
  hopsTotal = 0;
  sessions = 0;
  sessionsCompleted = 0;
  sessionsNotStarted = 0;
  receipts = 0;
  balances = 0;
  errors = 0;
  errorKinds: Record<string, number> = {};
  errorSamples: string[] = [];
  lat: Record<HopKind, number[]> = { menu: [], pin: [] };

  constructor(private readonly windowEnd: number) {}

  hop(kind: HopKind, ms: number, at: number) {
    this.hopsTotal += 1;
    if (at <= this.windowEnd) this.hops += 1;
    if (at <= this.windowEnd && kind === "pin") this.pinHops += 1;
    this.lat[kind].push(ms);
  }

  error(kind: string, sample?: string) {
    this.errors += 1;
    this.errorKinds[kind] = (this.errorKinds[kind] ?? 0) + 1;
    if (sample !== undefined && this.errorSamples.length < 5) this.errorSamples.push(sample.slice(0, 160));
  }

  stats(seconds: number, unfinished: number, offeredSessionsPerS: number): PhaseStats {
    const summary = (xs: number[]) => {
      xs.sort((a, b) => a - b);
      return { count: xs.length, p50: percentile(xs, 50), p90: percentile(xs, 90), p99: percentile(xs, 99), max: percentile(xs, 100) };
    };
    const menu = summary(this.lat.menu);
    const pin = summary(this.lat.pin);
    const all = [...this.lat.menu, ...this.lat.pin].sort((a, b) => a - b);
    return {
      hops: this.hops,
      pinHops: this.pinHops,
      hopsTotal: this.hopsTotal,
      seconds,
      sessions: this.sessions,
      sessionsCompleted: this.sessionsCompleted,
      sessionsNotStarted: this.sessionsNotStarted,
      sessionsUnfinished: unfinished,
      receipts: this.receipts,
      balances: this.balances,
      errors: this.errors + unfinished,
      errorKinds: unfinished > 0 ? { ...this.errorKinds, unfinished } : this.errorKinds,
      errorSamples: this.errorSamples,
      latency: { menu, pin },
      all: { p50: percentile(all, 50), p90: percentile(all, 90), p99: percentile(all, 99), max: percentile(all, 100) },
      offeredSessionsPerS,
    };
  }
}

class Generator {
  private readonly free: number[];
  private readonly sends: number[];
  private sessionSeq = 0;

  constructor(private readonly init: InitMessage) {
    this.free = init.subscribers.map((_, i) => i);
    this.sends = init.subscribers.map(() => 0);
  }

  private take(): number | undefined {
    if (this.free.length === 0) return undefined;
    const j = Math.floor(Math.random() * this.free.length);
    const i = this.free[j]!;
    this.free[j] = this.free[this.free.length - 1]!;
    this.free.pop();
    return i;
  }

  /** Send or balance; sends count against the subscriber's daily limit only where they post (the gateway). */
  private flowFor(i: number, posts: boolean, flows: ClosedPhase["flows"]): { steps: Step[]; send: boolean } {
    const subs = this.init.subscribers;
    const me = subs[i]!;
    if (flows === "menu_only") return { steps: cancelledSendFlow(me, subs[(i + 1) % subs.length]!, 50), send: false };
    if (Math.random() < this.init.sendShare && this.sends[i]! < this.init.maxSendsPerSubscriber) {
      let p = Math.floor(Math.random() * (subs.length - 1));
      if (p >= i) p += 1;
      if (posts) this.sends[i]! += 1;
      // KES 10-300: free up to 100, a fee above (both fee paths are exercised).
      return { steps: sendFlow(me, subs[p]!, 10 + Math.floor(Math.random() * 291)), send: true };
    }
    return { steps: balanceFlow(me), send: false };
  }

  /** A free subscriber and the flow it will walk, or undefined when every subscriber is mid-session. */
  private plan(checkScreens: boolean, flows: ClosedPhase["flows"]): Plan | undefined {
    const i = flows === "menu_only" ? this.takeWithSendsLeft() : this.take();
    return i === undefined ? undefined : { i, ...this.flowFor(i, checkScreens, flows) };
  }

  /**
   * A free subscriber who may still send today: the gateway's quote refuses a send at the amount
   * to one who used up the daily count, and the menu-only flow stops at the confirmation. A few
   * random tries, the ones passed over put back.
   */
  private takeWithSendsLeft(): number | undefined {
    const passed: number[] = [];
    let found: number | undefined;
    for (let tries = 0; tries < 16 && found === undefined; tries++) {
      const i = this.take();
      if (i === undefined) break;
      if (this.sends[i]! < this.init.maxSendsPerSubscriber) found = i;
      else passed.push(i);
    }
    this.free.push(...passed);
    return found;
  }

  /** One whole session; resolves when it ended (END, error or abandoned). */
  private async session(agent: http.Agent, target: URL, rec: Recorder, checkScreens: boolean, firstSentAt: number, flows: ClosedPhase["flows"] = "mixed"): Promise<void> {
    const plan = this.plan(checkScreens, flows);
    if (plan === undefined) rec.sessionsNotStarted += 1;
    else await this.walk(plan, agent, target, rec, checkScreens, firstSentAt);
  }

  private async walk({ i, steps, send }: Plan, agent: http.Agent, target: URL, rec: Recorder, checkScreens: boolean, firstSentAt: number): Promise<void> {
    rec.sessions += 1;
    const sub = this.init.subscribers[i]!;
    const sessionId = `ATUid_${this.init.runId}_${(this.sessionSeq += 1)}`;
    let clean = true;
    for (const [n, step] of steps.entries()) {
      // The first hop's clock starts when the session was due (open loop), not when it got sent.
      const t0 = n === 0 ? firstSentAt : performance.now();
      const body = new URLSearchParams({ sessionId, serviceCode: "*384#", phoneNumber: sub.msisdn, networkCode: "63902", text: step.text }).toString();
      let reply: { status: number; text: string };
      try {
        reply = await post(agent, target, this.init.secret, body, this.init.requestTimeoutMs);
      } catch (error) {
        const kind = error instanceof Error && error.message === "timeout" ? "timeout" : "network";
        rec.error(kind, `${kind} at hop ${n + 1}: ${error instanceof Error ? `${(error as NodeJS.ErrnoException).code ?? ""} ${error.message}` : String(error)}`);
        clean = false;
        break;
      }
      const now = performance.now();
      rec.hop(step.kind, now - t0, now);
      if (reply.status !== 200) {
        rec.error(`http_${reply.status}`);
        clean = false;
        break;
      }
      const last = n === steps.length - 1;
      const ok = checkScreens ? step.expect.test(reply.text) : reply.text.startsWith("CON ");
      if (!ok) {
        rec.error(`screen_${step.kind}`, reply.text);
        // An END is over anyway; a CON we did not expect leaves the session mid-flow.
        clean = reply.text.startsWith("END ");
        break;
      }
      if (last) {
        rec.sessionsCompleted += 1;
        if (checkScreens && send) rec.receipts += 1;
        if (checkScreens && !send) rec.balances += 1;
      }
    }
    if (clean || !checkScreens) this.free.push(i);
  }

  async closed(phase: ClosedPhase): Promise<PhaseStats> {
    const target = localOnly(phase.url);
    const agent = new http.Agent({ keepAlive: true, maxSockets: phase.concurrency });
    const started = performance.now();
    const windowEnd = started + phase.seconds * 1000;
    const rec = new Recorder(windowEnd);
    const hardStop = windowEnd + phase.drainSeconds * 1000;
    let running = 0;
    const workers = Array.from({ length: phase.concurrency }, async () => {
      running += 1;
      while (performance.now() < windowEnd) {
        await this.session(agent, target, rec, phase.checkScreens, performance.now(), phase.flows);
        if (this.free.length === 0) await new Promise((r) => setTimeout(r, 5));
      }
      running -= 1;
    });
    const unfinished = await settle(Promise.all(workers), hardStop, () => running, agent);
    return rec.stats(phase.seconds, unfinished, 0);
  }

  /**
   * Sessions start on schedule whatever the replies, paced by their hops: a session of n hops is
   * followed by the next one n / rate seconds later, so hops are offered at `rate` whatever the
   * mix of flows (sends give way to balances once a subscriber has used its daily sends). A
   * session's first hop is timed from when it was due.
   */
  async open(phase: OpenPhase): Promise<PhaseStats> {
    const target = localOnly(phase.url);
    const agent = new http.Agent({ keepAlive: true });
    const share = this.init.sendShare;
    const meanHops = 3 * (1 - share) + 6 * share;
    const started = performance.now();
    const windowEnd = started + phase.seconds * 1000;
    const rec = new Recorder(windowEnd);
    const hardStop = windowEnd + phase.drainSeconds * 1000;
    const inFlight = new Set<Promise<void>>();
    let nextDue = started;
    let scheduled = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        while (nextDue <= now && nextDue < windowEnd) {
          const dueAt = nextDue;
          const plan = this.plan(phase.checkScreens, "mixed");
          scheduled += 1;
          // A session that cannot start (every subscriber busy) still takes its place in the schedule.
          nextDue += ((plan?.steps.length ?? meanHops) / phase.rate) * 1000;
          if (plan === undefined) {
            rec.sessionsNotStarted += 1;
            continue;
          }
          const p: Promise<void> = this.walk(plan, agent, target, rec, phase.checkScreens, dueAt).finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
        if (now >= windowEnd) resolve();
        else setTimeout(tick, 1);
      };
      tick();
    });
    const unfinished = await settle(Promise.all([...inFlight]).then(() => undefined), hardStop, () => inFlight.size, agent);
    return rec.stats(phase.seconds, unfinished, scheduled / phase.seconds);
  }
}

/** Waits for `work` until `hardStop`; past it, abandons the open requests and returns how many sessions were left. */
async function settle(work: Promise<unknown>, hardStop: number, left: () => number, agent: http.Agent): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), Math.max(0, hardStop - performance.now()))));
  const outcome = await Promise.race([work.then(() => "done" as const), late]);
  clearTimeout(timer);
  const unfinished = outcome === "late" ? left() : 0;
  agent.destroy();
  return unfinished;
}

function post(agent: http.Agent, target: URL, secret: string, body: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "content-length": Buffer.byteLength(body),
          "x-fingate-secret": secret,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(body);
  });
}

function runGenerator() {
  let generator: Generator | null = null;
  process.on("message", (raw) => {
    const msg = raw as InitMessage | ClosedPhase | OpenPhase | { type: "exit" };
    const reply = (value: object) => process.send?.(value);
    if (msg.type === "init") {
      generator = new Generator(msg);
      reply({ type: "ready" });
    } else if (msg.type === "exit") {
      process.disconnect?.();
      process.exit(0);
    } else if (generator) {
      const g = generator;
      (msg.type === "closed" ? g.closed(msg) : g.open(msg)).then(
        (stats) => reply({ type: "result", stats }),
        (error: unknown) => reply({ type: "failed", message: error instanceof Error ? error.message : String(error) }),
      );
    }
  });
  // The parent is gone: nothing left to do.
  process.on("disconnect", () => process.exit(0));
}

/** The yardstick: Express parsing the same form and answering a constant CON. */
function runBaseline() {
  const app = express();
  app.disable("x-powered-by");
  app.post("/ussd/at", express.urlencoded({ extended: false, limit: "8kb" }), (_req, res) => {
    res.type("text/plain; charset=utf-8").send("CON Welcome to fingate\n1. Balance\n2. Send money\n3. Mini-statement\n4. Withdraw cash\n5. Change PIN\n6. My account\n7. Language");
  });
  const server = app.listen(0, "127.0.0.1", () => {
    const address = server.address();
    process.send?.({ type: "listening", port: typeof address === "object" && address ? address.port : 0 });
  });
  process.on("disconnect", () => server.close(() => process.exit(0)));
}

const role = process.argv[2];
if (role === "generator") runGenerator();
else if (role === "baseline") runBaseline();
else {
  console.error("usage: ussd-load.ts generator|baseline (forked by bench/ussd.ts)");
  process.exit(2);
}
