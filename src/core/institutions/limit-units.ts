import type { LimitUnits } from "../limits/policies.js";
import { DEFAULT_LIMIT_UNIT_MINOR } from "../limits/security-levels.js";
import type { Institution } from "./types.js";

/** Each institution's limit unit, read from the institution (a store that caches it keeps this off the database). */
export function institutionLimitUnits(institutions: { get(id: string): Promise<Institution | null> }): LimitUnits {
  return {
    async limitUnitMinor(institutionId: string): Promise<bigint> {
      return (await institutions.get(institutionId))?.limitUnitMinor ?? DEFAULT_LIMIT_UNIT_MINOR;
    },
  };
}
