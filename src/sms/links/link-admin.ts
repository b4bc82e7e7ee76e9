/**
 * What the admin API does with links: create, change and remove their configuration (passwords
 * hashed or sealed on the way in, never returned), then have the manager apply it at once.
 */
import type { LinkStatus, SmsLinkManager } from "./link-manager.js";
import type { LinkActor, LinkRecord, SqlLinkStore } from "./link-store.js";
import { hashLinkPassword, type LinkPasswordSealer } from "./secrets.js";
import { publicConfig, type LinkConfig, type LinkInput, type LinkStoreResult, type LinkUpdate, type StoredLink } from "./types.js";

export type LinkAdminResult = LinkStoreResult | { ok: false; code: "not_configured" | "weak_link_password" };

/**
 * SMPP 3.4 caps a password at 8 characters, so a server account's password (one the bank issues
 * to the telco) must use all 8 and mix at least three of lower case, upper case, digits and
 * symbols. The bind guard slows guessing; this keeps the space worth guessing large. A client
 * link's password is the telco's choice, so it is taken as given.
 */
export function strongServerPassword(password: string): boolean {
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/].filter((re) => re.test(password)).length;
  return password.length === 8 && classes >= 3;
}

type Secrets = Pick<StoredLink, "passwordHash" | "passwordSealed">;

export class SmsLinkAdmin {
  constructor(
    private readonly store: SqlLinkStore,
    private readonly manager: Pick<SmsLinkManager, "reload" | "status">,
    private readonly sealer: LinkPasswordSealer | null,
  ) {}

  async list(): Promise<LinkConfig[]> {
    return (await this.store.list()).map(publicConfig);
  }

  async get(id: string): Promise<LinkConfig | null> {
    const link = await this.store.get(id);
    return link ? publicConfig(link) : null;
  }

  status(): LinkStatus[] {
    return this.manager.status();
  }

  async create(by: LinkActor, id: string, input: LinkInput): Promise<LinkAdminResult> {
    const secrets = await this.secrets(id, input.mode, input.password);
    if ("ok" in secrets) return secrets;
    const { password: _password, ...fields } = input;
    return this.applied(await this.store.create(by, { id, ...fields, ipAllowList: input.ipAllowList ?? [], ...secrets }));
  }

  async update(by: LinkActor, id: string, update: LinkUpdate): Promise<LinkAdminResult> {
    const current = await this.store.get(id);
    if (!current) return { ok: false, code: "sms_link_not_found" };
    const { password, ...fields } = update;
    const secrets = password === undefined ? { passwordHash: current.passwordHash, passwordSealed: current.passwordSealed } : await this.secrets(id, current.mode, password);
    if ("ok" in secrets) return secrets;
    const record: LinkRecord = { id, mode: current.mode, ...fields, ipAllowList: fields.ipAllowList ?? current.ipAllowList, ...secrets };
    return this.applied(await this.store.update(by, record));
  }

  async delete(by: LinkActor, id: string): Promise<LinkAdminResult> {
    return this.applied(await this.store.delete(by, id));
  }

  private async applied(result: LinkStoreResult): Promise<LinkAdminResult> {
    if (result.ok) await this.manager.reload();
    return result;
  }

  /** A server account's password is hashed; a client's is sealed, which needs the key. */
  private async secrets(id: string, mode: StoredLink["mode"], password: string): Promise<Secrets | { ok: false; code: "not_configured" | "weak_link_password" }> {
    if (mode === "server") {
      if (!strongServerPassword(password)) return { ok: false, code: "weak_link_password" };
      return { passwordHash: await hashLinkPassword(password), passwordSealed: null };
    }
    if (!this.sealer) return { ok: false, code: "not_configured" };
    return { passwordHash: null, passwordSealed: this.sealer.seal(password, id) };
  }
}
