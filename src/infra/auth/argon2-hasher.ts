import { hash, verify, type Options } from "@node-rs/argon2";
import type { PinHasher } from "../../core/auth/ports.js";

/**
 * Argon2id PIN hashing (FINGATE_PIN_SCHEME=argon2id; the default is the keyed HmacPinHasher, see
 * hmac-pin-hasher.ts for why). Credentials made with it keep verifying under either. A 4-digit PIN has only 10,000 values, so the hash alone cannot protect a
 * stolen table against an offline search; what it does is make each guess cost 32 MiB and tens of
 * milliseconds. The optional secret (a pepper kept outside the database, e.g. in the environment
 * or an HSM) is what makes a stolen table useless without it.
 *
 * Parameters: 32 MiB (above OWASP's 19 MiB minimum for Argon2id), 4 passes, 1 lane. Measured on
 * the development machine (2 vCPU, Node 20): one verify takes ~33 ms median (31-36 ms),
 * 19 MiB × 2 passes took only ~11 ms. Each verify in flight holds 32 MiB, and libuv's 4 threads
 * bound that to 128 MiB.
 */
export const ARGON2_PARAMS = {
  memoryCostKiB: 32_768,
  timeCost: 4,
  parallelism: 1,
} as const;

// Algorithm.Argon2id; the package declares it as a const enum, which isolatedModules cannot import.
const ARGON2ID = 2;

export interface Argon2HasherOptions {
  /** Pepper mixed into every hash; changing it invalidates every stored PIN. */
  secret?: Uint8Array;
  memoryCostKiB?: number;
  timeCost?: number;
}

export class Argon2PinHasher implements PinHasher {
  readonly scheme = "argon2id";
  private readonly options: Options;

  constructor(options: Argon2HasherOptions = {}) {
    this.options = {
      algorithm: ARGON2ID,
      memoryCost: options.memoryCostKiB ?? ARGON2_PARAMS.memoryCostKiB,
      timeCost: options.timeCost ?? ARGON2_PARAMS.timeCost,
      parallelism: ARGON2_PARAMS.parallelism,
      secret: options.secret,
    };
  }

  hash(pin: string): Promise<string> {
    return hash(pin, this.options);
  }

  /** Parameters come from the encoded hash; only the secret is ours to add. */
  async verify(encoded: string, pin: string): Promise<boolean> {
    try {
      return await verify(encoded, pin, { secret: this.options.secret });
    } catch {
      // A malformed stored hash is corruption, worth an alarm; the library's own error is dropped
      // so that nothing derived from the input can reach a log.
      throw new Error("stored PIN hash could not be parsed");
    }
  }
}
