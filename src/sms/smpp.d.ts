/**
 * The part of the untyped `smpp` package (node-smpp 0.5.1) that fingate uses. PDU option values
 * exclude `undefined` on purpose: the package throws while encoding a TLV whose value is undefined.
 */
declare module "smpp" {
  import type { EventEmitter } from "node:events";
  import type { Server as NetServer, Socket } from "node:net";

  namespace smpp {
    type PduValue = string | number | Buffer;
    type PduOptions = Record<string, PduValue>;
    type PduCallback = (pdu: PDU) => void;

    class PDU {
      constructor(command: string, options?: PduOptions);
      command: string;
      command_id: number;
      command_status: number;
      sequence_number: number;
      [field: string]: unknown;
      isResponse(): boolean;
      response(options?: PduOptions): PDU;
    }

    class Session extends EventEmitter {
      socket: Socket;
      /** Returns false, without sending, when the socket is not writable. */
      send(pdu: PDU, onResponse?: PduCallback, onSent?: PduCallback): boolean;
      bind_transceiver(options: PduOptions, onResponse?: PduCallback): boolean;
      /** Stops reading PDUs from the socket until resume() (the listener holds a session during a bind check). */
      pause(): void;
      resume(): void;
      close(callback?: () => void): void;
      destroy(callback?: () => void): void;
    }

    class Server extends NetServer {
      sessions: Session[];
    }

    interface ConnectOptions {
      host: string;
      port: number;
    }

    function connect(options: ConnectOptions, listener?: () => void): Session;
    function createServer(listener?: (session: Session) => void): Server;

    /** Command status names to values (ESME_ROK, ESME_RTHROTTLED …). */
    const errors: Record<string, number>;
  }

  export = smpp;
}
