/**
 * Reads PDUs off an SMPP session's socket in place of the `smpp` package's reader
 * (Session#_extractPDUs), which a peer could break with one PDU in two ways:
 *
 * - A PDU whose header is sound but whose body the package cannot parse (a TLV running past the
 *   end …): the package emits 'error' and never reads again (its busy flag stays set). Dropping
 *   the session then cost the bind, and the peer, never answered, sent the same PDU again after
 *   binding anew, for ever. SMPP 3.4 §2.3/§4.3: answer it, with its sequence_number, and go on.
 *   Here it gets its own *_resp (generic_nack when its command is unknown to the package) with
 *   ESME_RINVMSGLEN, which peers take as final, and reading goes on: the stream is still in step,
 *   framed by command_length.
 * - A command_length under 16: the package waited for ever for the rest of a PDU that cannot be
 *   whole, so a bound session read nothing more and stayed bound. No PDU boundary can be found
 *   after it: it is answered generic_nack ESME_RINVCMDLEN (sequence 0: the header is not there)
 *   and the session destroyed, so its 'close' gives back whatever it held.
 *
 * - A response whose body does not parse (a submit_sm_resp whose TLV runs past the end …) cannot
 *   be answered (SMPP answers requests; generic_nack is for a request whose header is bad), and
 *   was dropped: the request waiting for it timed out, and the part went again after a reconnect
 *   (or the outbox retried a deliver_sm), a second SMS when the peer had said ESME_ROK. Its header
 *   is sound, and SMPP 3.4 makes the header's command_status the outcome (an error response need
 *   carry no body), so the header settles the waiting request: ESME_ROK is accepted, with the
 *   body's mandatory fields (the message_id) as far as they read, and never sent again; an error
 *   status is that refusal. The PDU is reported (settled: true) for the log.
 *
 * A command_length over the package's maximum (16 KiB, which the package also threw on): its body
 * is skipped, and a request is answered ESME_RINVCMDLEN. A response used to be dropped too, and
 * its request timed out and went again (a second SMS when the peer had said ESME_ROK): it now
 * settles its request by its header, as one that does not parse, with the mandatory fields its
 * first OVERSIZED_PREFIX bytes hold (a submit_sm_resp's message_id). Bad PDUs are reported as
 * 'bad_pdu' events (BadPdu) on the session.
 *
 * Nothing thrown while a PDU is read, handed to the session's listeners (ours: the listener's and
 * the client link's handlers, the 'deliver' listeners behind them) or answered escapes: the
 * reader ran in the socket's 'readable' event, where a throw was uncaught and ended the process,
 * every link with it. The PDU's listeners and, for a response, the callback waiting for it still
 * run (an answer the peer gave is not lost), then reading stops, the failure is reported as a
 * 'pdu_failed' event (PduFailure: command id, sequence number, the error's name and where it was
 * thrown, never its message, which may quote the PDU's text) and the session is destroyed: a
 * server session is unbound as after a dropped connection, a client link reconnects.
 *
 * Everything else is as the package does it: 'pdu' and the command's event per PDU, response
 * callbacks by sequence_number, pause() and resume().
 */
import type { Socket } from "node:net";
import smpp from "smpp";

export const ESME_RINVMSGLEN = 0x01;
export const ESME_RINVCMDLEN = 0x02;

export interface BadPdu {
  /** null when the PDU's header could not be read. */
  commandId: number | null;
  sequenceNumber: number;
  /** The command_status it was answered with; null when it was a response (never answered). */
  answered: number | null;
  /** A response whose header settled the request waiting for it (false: none was waiting). */
  settled?: boolean;
  /** The session was destroyed: the stream cannot be followed past this PDU. */
  closed: boolean;
  reason: string;
}

/** A PDU whose handling threw (see the top); the session has been destroyed. */
export interface PduFailure {
  /** null when the throw came between PDUs (a 'bad_pdu' listener …). */
  commandId: number | null;
  command: string | null;
  sequenceNumber: number | null;
  /** The error's name (TypeError …); its message is left out, as it may quote the PDU's text. */
  error: string;
  /** Where it was thrown: the top stack frames, file and line only. */
  at: string[];
}

const HEADER_LENGTH = 16;
/** How much of an over-long response is read for its mandatory fields (a message_id is at most 65 octets). */
const OVERSIZED_PREFIX = 256;
const RESPONSE_BIT = 0x80000000;
/** How long the nack before a lost stream's close may take to be written. */
const LOST_STREAM_GRACE_MS = 1_000;

/** The package's internals this reader takes over (lib/smpp.js, 0.5.1). */
interface PackageSession {
  socket: Socket;
  paused: boolean;
  _callbacks: Record<number, ((pdu: smpp.PDU) => void) | undefined>;
  _extractPDUs: () => void;
  emit(event: string, ...args: unknown[]): boolean;
  send(pdu: smpp.PDU, onSent?: () => void): boolean;
  destroy(): void;
}

interface ParamType {
  read(buffer: Buffer, offset: number): unknown;
  size(value: unknown): number;
}

interface PackageDefs {
  commands: Record<string, { params?: Record<string, { type: ParamType }> } | undefined>;
  commandsById: Record<number, { command: string } | undefined>;
  PDU: { new (buffer: Buffer): smpp.PDU; maxLength: number };
}

const defs = smpp as unknown as PackageDefs;

/** SMPP 3.4 requests that have no response: alert_notification (§4.12) and outbind (§4.1.7). */
const NO_RESPONSE = new Set(["alert_notification", "outbind"]);

/**
 * The answer to a request this side does not serve (SMPP 3.4 §4.3): its own *_resp with `status`
 * and its sequence_number, or generic_nack when its command id is unknown; null for a response or
 * a request that SMPP gives no response (the package has no *_resp to build for those, and
 * pdu.response() threw). Left unanswered, a peer waits out its response timer with a window
 * slot taken, and many SMSCs drop the bind after a few of those.
 */
export function refusalOf(pdu: smpp.PDU, status: number): smpp.PDU | null {
  if (pdu.isResponse() || NO_RESPONSE.has(pdu.command)) return null;
  const reply = `${pdu.command}_resp` in defs.commands ? `${pdu.command}_resp` : "generic_nack";
  return new smpp.PDU(reply, { sequence_number: pdu.sequence_number, command_status: status });
}

/** Replaces the package's reader on a session just made (before any byte was read). */
export function readPdusSafely(session: smpp.Session): void {
  const s = session as unknown as PackageSession;
  const reader = new PduReader(s);
  // The package listens with its reader bound when the session was made: only that one is there.
  s.socket.removeAllListeners("readable");
  s._extractPDUs = () => reader.read(); // resume() calls it
  s.socket.on("readable", s._extractPDUs);
}

class PduReader {
  /** The command_length read for the PDU under way, or null between PDUs. */
  private length: number | null = null;
  /** Bytes of an over-long PDU still to throw away. */
  private skip = 0;
  private busy = false;
  private stopped = false;

  constructor(private readonly s: PackageSession) {}

  /** The PDU being handed to the session's listeners, for the report if one of them throws. */
  private current: smpp.PDU | null = null;

  read(): void {
    if (this.busy) return;
    this.busy = true;
    try {
      while (!this.s.paused && !this.stopped && this.step());
    } catch (error) {
      this.failed(error);
    } finally {
      this.busy = false;
      this.current = null;
    }
  }

  /** Something threw while a PDU was handled: reading stops and the session goes (see the top). */
  private failed(error: unknown): void {
    this.stopped = true;
    const pdu = this.current;
    const failure: PduFailure = {
      commandId: pdu?.command_id ?? null,
      command: pdu?.command ?? null,
      sequenceNumber: pdu?.sequence_number ?? null,
      error: error instanceof Error ? error.name : typeof error,
      at: error instanceof Error ? stackFrames(error) : [],
    };
    try {
      this.s.emit("pdu_failed", failure);
    } catch {
      // A report that throws as well changes nothing: the session goes all the same.
    }
    this.s.destroy();
  }

  /** One step through the stream; false while it waits for more bytes. */
  private step(): boolean {
    if (this.skip > 0) return this.skipSome();
    if (this.length === null) {
      const head = this.take(4);
      if (!head) return false;
      this.length = head.readUInt32BE(0);
      if (this.length < HEADER_LENGTH) return this.lost(this.length);
    }
    if (this.length > defs.PDU.maxLength) {
      const prefix = Math.min(OVERSIZED_PREFIX, this.length - HEADER_LENGTH);
      const rest = this.take(HEADER_LENGTH - 4 + prefix);
      if (!rest) return false;
      const length = this.length;
      this.skip = length - HEADER_LENGTH - prefix;
      this.length = null;
      const reason = `command_length ${length} over ${defs.PDU.maxLength}`;
      const commandId = rest.readUInt32BE(0);
      if ((commandId & RESPONSE_BIT) === 0) this.answer(commandId, rest.readUInt32BE(8), ESME_RINVCMDLEN, reason);
      else {
        const head = Buffer.alloc(4);
        head.writeUInt32BE(length, 0);
        this.settleByHeader(Buffer.concat([head, rest]), reason);
      }
      return true;
    }
    const body = this.take(this.length - 4);
    if (!body) return false;
    const buffer = Buffer.alloc(this.length);
    buffer.writeUInt32BE(this.length, 0);
    body.copy(buffer, 4);
    this.length = null;
    let pdu: smpp.PDU;
    try {
      pdu = new defs.PDU(buffer);
    } catch (error) {
      const reason = String((error as Error).message).slice(0, 200);
      if ((buffer.readUInt32BE(4) & RESPONSE_BIT) !== 0) this.settleByHeader(buffer, reason);
      else this.answer(buffer.readUInt32BE(4), buffer.readUInt32BE(12), ESME_RINVMSGLEN, reason);
      return true;
    }
    this.deliver(pdu);
    return true;
  }

  /** Exactly n bytes, or null until they have all come (at the stream's end read(n) gives fewer). */
  private take(n: number): Buffer | null {
    const chunk = this.s.socket.read(n) as Buffer | null;
    return chunk && chunk.length === n ? chunk : null;
  }

  private skipSome(): boolean {
    const n = Math.min(this.skip, this.s.socket.readableLength);
    if (n === 0 || !this.take(n)) return false;
    this.skip -= n;
    return true;
  }

  /** As the package: 'pdu', the command's event, then the callback waiting for a response. */
  private deliver(pdu: smpp.PDU): void {
    this.current = pdu;
    let thrown: { error: unknown } | null = null;
    try {
      this.s.emit("pdu", pdu);
      this.s.emit(pdu.command, pdu);
    } catch (error) {
      thrown = { error };
    }
    // The answer still settles its request: dropped, the request would go again on the next session.
    const callback = pdu.isResponse() ? this.s._callbacks[pdu.sequence_number] : undefined;
    if (callback) {
      delete this.s._callbacks[pdu.sequence_number];
      try {
        callback(pdu);
      } catch (error) {
        thrown ??= { error };
      }
    }
    if (thrown) throw thrown.error;
    this.current = null;
  }

  /** A response that does not parse settles the request waiting for it by its header (see the top). */
  private settleByHeader(buffer: Buffer, reason: string): void {
    const pdu = headerAndMandatoryFields(buffer);
    const callback = this.s._callbacks[pdu.sequence_number];
    delete this.s._callbacks[pdu.sequence_number];
    this.current = pdu;
    try {
      this.report({ commandId: pdu.command_id, sequenceNumber: pdu.sequence_number, answered: null, settled: callback !== undefined, closed: false, reason });
    } finally {
      callback?.(pdu); // settled even when a 'bad_pdu' listener threw
    }
    this.current = null;
  }

  /** A request is answered with its own *_resp, or generic_nack; a response cannot be answered. */
  private answer(commandId: number, sequenceNumber: number, status: number, reason: string): void {
    const isResponse = (commandId & RESPONSE_BIT) !== 0;
    const command = defs.commandsById[commandId]?.command;
    const reply = command && `${command}_resp` in defs.commands ? `${command}_resp` : "generic_nack";
    if (!isResponse) this.s.send(new smpp.PDU(reply, { sequence_number: sequenceNumber, command_status: status }));
    this.report({ commandId, sequenceNumber, answered: isResponse ? null : status, closed: false, reason });
  }

  /** A length under the header's: no PDU boundary can be found after it. */
  private lost(length: number): false {
    this.stopped = true;
    const nack = new smpp.PDU("generic_nack", { command_status: ESME_RINVCMDLEN });
    // Destroyed once the nack is written, or soon anyway: a peer that reads nothing cannot hold it.
    if (!this.s.send(nack, () => this.s.destroy())) this.s.destroy();
    else setTimeout(() => this.s.destroy(), LOST_STREAM_GRACE_MS).unref();
    this.report({ commandId: null, sequenceNumber: 0, answered: ESME_RINVCMDLEN, closed: true, reason: `command_length ${length} under ${HEADER_LENGTH}` });
    return false;
  }

  private report(bad: BadPdu): void {
    this.s.emit("bad_pdu", bad);
  }
}

/**
 * A PDU of `buffer`'s header and of its mandatory fields as far as they read (a submit_sm_resp's
 * message_id), without its optional TLVs: what can be trusted of a response whose body does not
 * parse. A field that cannot be read ends it; a command the package does not know is "unknown".
 */
function headerAndMandatoryFields(buffer: Buffer): smpp.PDU {
  const pdu = Object.create(defs.PDU.prototype as object) as smpp.PDU;
  pdu.command_length = buffer.readUInt32BE(0);
  pdu.command_id = buffer.readUInt32BE(4);
  pdu.command_status = buffer.readUInt32BE(8);
  pdu.sequence_number = buffer.readUInt32BE(12);
  const command = defs.commandsById[pdu.command_id]?.command;
  pdu.command = command ?? "unknown";
  let offset = HEADER_LENGTH;
  for (const [key, { type }] of Object.entries((command && defs.commands[command]?.params) || {})) {
    if (offset >= buffer.length) break;
    try {
      const value = type.read(buffer, offset);
      offset += type.size(value);
      pdu[key] = value;
    } catch {
      break;
    }
  }
  return pdu;
}

/** The top frames of an error's stack ("at fn (file:line:col)"), without its message. */
function stackFrames(error: Error): string[] {
  return (error.stack ?? "")
    .split("\n")
    .filter((line) => /^\s+at /.test(line))
    .slice(0, 3)
    .map((line) => line.trim().slice(0, 200));
}
