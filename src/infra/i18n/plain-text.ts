/**
 * One i18next instance for plain handset text, shared by the menus' translator, the SMS command
 * replies and the outbox's notice renderer, so all three interpolate alike.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import i18next, { type i18n, type Resource, type ResourceLanguage } from "i18next";

/** The repository's locales/ folder, wherever the compiled module lands (src/ or dist/src/). */
export const DEFAULT_LOCALES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../locales");

/** locales/<lang>/<namespace>.json, parsed. */
export function readLocaleFile(dir: string, lang: string, namespace: string): unknown {
  return JSON.parse(readFileSync(path.join(dir, lang, `${namespace}.json`), "utf8"));
}

/**
 * An initialised instance over `resources` (one namespace per language). Plain text for a handset:
 * nothing to escape, and a value (a name a user typed) is never itself interpolated or nested.
 */
export function plainTextI18n(resources: Resource, namespace: string, lng = "en"): i18n {
  const instance = i18next.createInstance();
  void instance.init({
    resources,
    lng,
    fallbackLng: "en",
    ns: [namespace],
    defaultNS: namespace,
    initAsync: false,
    returnNull: false,
    interpolation: { escapeValue: false, skipOnVariables: true },
  });
  return instance;
}

/** Each language's file of one namespace, as i18next resources. */
export function namespaceResources(dir: string, languages: readonly string[], namespace: string): Resource {
  const resources: Resource = {};
  for (const lang of languages) resources[lang] = { [namespace]: readLocaleFile(dir, lang, namespace) as ResourceLanguage };
  return resources;
}
