/** Assembles the USSD channel from the menu ports: engine, translator, hop processor, router. */
import { createHmac } from "node:crypto";
import type { Router } from "express";
import { createTranslator, type Translator } from "../infra/i18n/index.js";
import { AesGcmSealer, type MenuPorts } from "../menus/adapters/index.js";
import type { SessionStore } from "../menus/engine/session-store.js";
import { customerMenuEngine, DEFAULT_MENU_LIMITS, type Language, type MenuLimits } from "../menus/index.js";
import { hopFastPath, type FastPath } from "./fast-path.js";
import { HopProcessor } from "./hop.js";
import type { HopDeps, HopLimits, HopLogger } from "./hop-types.js";
import { ussdRouter, type AggregatorConfig, type UssdRouterDeps } from "./router.js";

export interface UssdChannelOptions {
  ports: MenuPorts;
  /** The institution whose customers this short code serves. */
  institutionId: string;
  /** That institution's IANA time zone: screens show dates ("locked until", statements) in it. Default UTC. */
  timeZone?: string;
  defaultLanguage?: Language;
  sessions: SessionStore;
  /** 32 bytes shared by every instance serving the same sessions: seals PINs between steps, keys hop digests. */
  secretKey: Uint8Array;
  aggregators: AggregatorConfig[];
  logger: HopLogger;
  /** Instead of the translator made for `timeZone` (it then shows dates in its own zone). */
  translator?: Translator;
  menuLimits?: Partial<MenuLimits>;
  hopLimits?: Partial<HopLimits>;
  /** Meters each finished session's tariff (see HopDeps.onSessionEnd). */
  onSessionEnd?: HopDeps["onSessionEnd"];
  /** A caller's number in national format in E.164, with the institution's country (Hubtel's "0241…"); absent, refused. */
  localMsisdn?: UssdRouterDeps["localMsisdn"];
}

export interface UssdChannel {
  router: Router;
  /** The router's Africa's Talking hops off node:http; see serveHopsFirst (src/ussd/fast-path.ts). */
  fastPath: FastPath;
  hops: HopProcessor;
  /** Changes the language of unknown numbers for the hops that follow (the institution's changed). */
  setDefaultLanguage(language: Language): void;
}

export function createUssdChannel(options: UssdChannelOptions): UssdChannel {
  if (options.secretKey.length < 32) throw new Error("the USSD secret key must have at least 32 bytes");
  const derive = (label: string) => createHmac("sha256", options.secretKey).update(label).digest();
  // The hop processor reads defaultLanguage from this object on every hop, so setting it here is enough.
  const menu: HopDeps["menu"] = {
    ...options.ports,
    institutionId: options.institutionId,
    defaultLanguage: options.defaultLanguage ?? "en",
    sealer: new AesGcmSealer(derive("fingate:ussd:seal")),
    limits: { ...DEFAULT_MENU_LIMITS, ...options.menuLimits },
    now: () => new Date(),
  };
  const hops = new HopProcessor({
    engine: customerMenuEngine(),
    translator: options.translator ?? createTranslator({ timeZone: options.timeZone }),
    sessions: options.sessions,
    menu,
    hopSecret: derive("fingate:ussd:hop"),
    logger: options.logger,
    limits: options.hopLimits,
    onSessionEnd: options.onSessionEnd,
  });
  const setDefaultLanguage = (language: Language) => void (menu.defaultLanguage = language);
  const routes = { hops, aggregators: options.aggregators, logger: options.logger, localMsisdn: options.localMsisdn };
  return { router: ussdRouter(routes), fastPath: hopFastPath(routes), hops, setDefaultLanguage };
}
