import type { Ledger } from "../../src/core/ledger/ledger.js";

/** The ledger as a process whose database went away for every posting saw it: each transfer fails; reads still work. */
export function ledgerDownForTransfers(ledger: Ledger): Ledger {
  return new Proxy(ledger, {
    get(target, prop, receiver) {
      if (prop === "transfer") return () => Promise.reject(new Error("connect ECONNREFUSED"));
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
