/**
 * What the admin API does with links: create, change and remove their configuration (passwords
 * hashed or sealed on the way in, never returned), then have the manager apply it at once.
 */
import type { LinkStatus, SmsLinkManager } from "./link-manager.js";
import type { LinkActor, LinkRecord, SqlLinkStore } from "./link-store.js";
import { hashLinkPassword, type LinkPasswordSealer } from "./secrets.js";
import { publicConfig, type LinkConfig, type LinkInput, type LinkStoreResult, type LinkUpdate, type StoredLink } from "./types.js";

export type LinkAdminResult = LinkStoreResult | { ok: false; code: "not_configured" };

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
    if (!secrets) return { ok: false, code: "not_configured" };
    const { password: _password, ...fields } = input;
    return this.applied(await this.store.create(by, { id, ...fields, ipAllowList: input.ipAllowList ?? [], ...secrets }));
  }

  async update(by: LinkActor, id: string, update: LinkUpdate): Promise<LinkAdminResult> {
    const current = await this.store.get(id);
    if (!current) return { ok: false, code: "sms_link_not_found" };
    const { password, ...fields } = update;
    const secrets = password === undefined ? { passwordHash: current.passwordHash, passwordSealed: current.passwordSealed } : await this.secrets(id, current.mode, password);
    if (!secrets) return { ok: false, code: "not_configured" };
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
  private async secrets(id: string, mode: StoredLink["mode"], password: string): Promise<Pick<StoredLink, "passwordHash" | "passwordSealed"> | null> {
    if (mode === "server") return { passwordHash: await hashLinkPassword(password), passwordSealed: null };
    if (!this.sealer) return null;
    return { passwordHash: null, passwordSealed: this.sealer.seal(password, id) };
  }
}
