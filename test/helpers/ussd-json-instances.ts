/**
 * Two USSD gateway instances for the JSON dialect e2e tests, each behind its own express app (for
 * supertest), over a rig's core and sharing sessions in Redis under the rig's key prefix: a hop
 * may go to either, as behind a load balancer. Started in a file's beforeAll, closed (before the
 * rig) in its afterAll; `gateways` and `apps` fill as they start, so a half-started set closes too.
 */
import { randomBytes } from "node:crypto";
import express from "express";
import { RedisSessionStore } from "../../src/infra/redis/session-store.js";
import { buildUssdGateway, type UssdGateway } from "../../src/ussd/gateway.js";
import type { AggregatorConfig } from "../../src/ussd/router.js";
import { SILENT, TEST_REDIS_URL, type UssdRig } from "./ussd-rig.js";

export class JsonInstances {
  readonly gateways: UssdGateway[] = [];
  readonly apps: express.Express[] = [];

  async start(rig: UssdRig, aggregators: AggregatorConfig[]): Promise<void> {
    const secretKey = randomBytes(32);
    for (let i = 0; i < 2; i++) {
      const gateway = await buildUssdGateway({
        services: rig.services,
        ledger: rig.ledger,
        logger: SILENT,
        institutionId: rig.bankId,
        aggregators,
        secretKey,
        sessions: await RedisSessionStore.connect(TEST_REDIS_URL, { prefix: rig.prefix }),
      });
      if (!gateway) throw new Error("the USSD channel did not start");
      this.gateways.push(gateway);
      const app = express();
      app.use(gateway.router);
      this.apps.push(app);
    }
  }

  async close(): Promise<void> {
    for (const gateway of this.gateways) await gateway.close().catch(() => undefined);
  }
}
