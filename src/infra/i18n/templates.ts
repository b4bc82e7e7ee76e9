/**
 * Menu texts compiled once into plain substitutions. Nearly every hop renders a few messages, and
 * i18next's t() (key resolution, fallbacks, interpolation regexes, per call) cost more than the
 * rest of rendering. Only what a plain substitution renders exactly as i18next would is compiled:
 * `{{name}}` placeholders and literal text. Anything else (nesting, other braces, a missing value,
 * a `count`, which selects plural forms) is left to i18next.
 */

/** Renders with every placeholder's value, or answers undefined when one is missing. */
export type Template = (params: Readonly<Record<string, string>>) => string | undefined;

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/;

export function compileTemplate(text: string): Template | null {
  if (text.includes("$t(")) return null;
  // Odd indices hold placeholder names, even ones the literal text around them.
  const parts = text.split(new RegExp(PLACEHOLDER.source, "g"));
  if (parts.some((part, i) => i % 2 === 0 && (part.includes("{{") || part.includes("}}")))) return null;
  return (params) => {
    let out = parts[0]!;
    for (let i = 1; i < parts.length; i += 2) {
      const value = params[parts[i]!];
      if (value === undefined) return undefined;
      out += value + parts[i + 1]!;
    }
    return out;
  };
}

/** One compiled template per language and key, made on first use; null where i18next must render. */
export class TemplateCache {
  private readonly compiled = new Map<string, Template | null>();

  constructor(private readonly lookup: (lang: string, key: string) => unknown) {}

  render(lang: string, key: string, params: Readonly<Record<string, string>>): string | undefined {
    // A count selects a plural form (key_one, key_other …), which only i18next resolves.
    if ("count" in params) return undefined;
    const id = `${lang}\u0000${key}`;
    let template = this.compiled.get(id);
    if (template === undefined) {
      const text = this.lookup(lang, key);
      template = typeof text === "string" ? compileTemplate(text) : null;
      this.compiled.set(id, template);
    }
    return template?.(params);
  }
}
