/**
 * One gateway serving a generic JSON aggregator ("gen", POST /ussd/gen) over a rig's core, its
 * sessions in the real Redis under the rig's prefix, behind an express app: for the metering tests
 * that need a single instance with its own hop limits or a fault in its session store.
 */
import { randomBytes } from "node:crypto";
import express from "express";
import { RedisSessionStore } from "../../src/infra/redis/session-store.js";
import type { SessionStore } from "../../src/menus/engine/session-store.js";
import { buildUssdGateway, type UssdGateway } from "../../src/ussd/gateway.js";
import type { HopLimits } from "../../src/ussd/hop-types.js";
import { SILENT, TEST_REDIS_URL, type UssdRig } from "./ussd-rig.js";

type Commit = SessionStore["commit"];

/** The store as it is, but for its commit, which `wrap` is given to call. */
export function withCommit(store: SessionStore, wrap: (commit: Commit) => Commit): SessionStore {
  const commit = wrap(store.commit.bind(store));
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "commit") return commit;
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

export async function genericGateway(
  rig: UssdRig,
  options: { secret: string; header?: string; hopLimits?: Partial<HopLimits>; store?: (store: SessionStore) => SessionStore },
): Promise<{ gateway: UssdGateway; app: express.Express }> {
  const redis = await RedisSessionStore.connect(TEST_REDIS_URL, { prefix: rig.prefix });
  const gateway = await buildUssdGateway({
    services: rig.services,
    ledger: rig.ledger,
    logger: SILENT,
    institutionId: rig.bankId,
    aggregators: [{ name: "gen", dialect: "generic", secret: options.secret, ...(options.header ? { header: options.header } : {}) }],
    secretKey: randomBytes(32),
    sessions: options.store ? options.store(redis) : redis,
    ...(options.hopLimits ? { hopLimits: options.hopLimits } : {}),
  });
  if (!gateway) throw new Error("the USSD channel did not start");
  const app = express();
  app.use(gateway.router);
  return { gateway, app };
}
