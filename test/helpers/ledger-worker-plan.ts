// Transfers that a worker process submits, derived from (seed, n) alone, so the test process can
// rebuild exactly what a worker sent, for example after killing it.
import { derivedUuid } from "../../src/core/ledger/ids.js";
import type { TransferInput } from "../../src/core/ledger/types.js";
import { mulberry32 } from "./ledger-random.js";

/** The n-th transfer of a plan: a payment between two distinct wallets, sometimes with a fee. */
export function plannedGroup(seed: string, n: number, wallets: string[], feeAccount: string): TransferInput[] {
  const rand = mulberry32(hash(`${seed}:${n}`));
  const from = Math.floor(rand() * wallets.length);
  const to = (from + 1 + Math.floor(rand() * (wallets.length - 1))) % wallets.length;
  const amountMinor = BigInt(1 + Math.floor(rand() * 400));
  const payment: TransferInput = {
    id: derivedUuid(`fingate-worker:${seed}:${n}`),
    debitAccountId: wallets[from]!,
    creditAccountId: wallets[to]!,
    amountMinor,
    code: "p2p",
  };
  if (rand() >= 0.25) return [payment];
  const fee: TransferInput = {
    id: derivedUuid(`fingate-worker:${seed}:${n}:fee`),
    debitAccountId: wallets[from]!,
    creditAccountId: feeAccount,
    amountMinor: 1n + amountMinor / 100n,
    code: "fee",
  };
  return [payment, fee];
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i += 1) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** JSON cannot carry bigint: amounts travel as decimal strings. */
export interface WireTransfer {
  id: string;
  debitAccountId: string;
  creditAccountId: string;
  amountMinor: string;
  code: string;
}

export function toWire(t: TransferInput): WireTransfer {
  return { id: t.id, debitAccountId: t.debitAccountId!, creditAccountId: t.creditAccountId!, amountMinor: t.amountMinor!.toString(), code: t.code };
}

export function fromWire(t: WireTransfer): TransferInput {
  return { ...t, amountMinor: BigInt(t.amountMinor) };
}
