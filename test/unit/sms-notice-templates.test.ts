// Every notice the agents core puts on a transfer must render in every SMS language with the real
// renderer: a parameter named differently from the template's slot would dead-letter the message.
import { describe, expect, it } from "vitest";
import { cashInNotices } from "../../src/core/agents/cash-in.js";
import { approvalPrompt, cancelledNotice, cashOutNotices, declinedNotice } from "../../src/core/agents/notices.js";
import { DEFAULT_AGENT_LIMITS, type Agent } from "../../src/core/agents/types.js";
import type { Customer } from "../../src/core/directory/types.js";
import type { Institution } from "../../src/core/institutions/types.js";
import type { Notice } from "../../src/core/notices/types.js";
import { createNoticeRenderer, SMS_LANGUAGES } from "../../src/sms/outbox/renderer.js";

const institution = { id: "00000000-0000-7000-8000-000000000001", currency: "KES" } as Institution;
const customer = { id: "c1", msisdn: "+254700000001", language: "en", displayName: "Wanjiru Kamau" } as Customer;
const agent: Agent = {
  id: "a1",
  institutionId: institution.id,
  msisdn: "+254700000003",
  storeNumber: "500100",
  name: "Amani Shop",
  location: "Kibera",
  status: "active",
  floatAccountId: "f1",
  commissionAccountId: "k1",
  limits: DEFAULT_AGENT_LIMITS,
  createdAt: new Date(0),
  updatedAt: new Date(0),
};
const fee = { feeMinor: 3_300n, commissionMinor: 1_650n };
const id = "0193b5a0-0000-7000-8000-00000000abcd";

const party = { customer, accountId: "w1", otherWalletAccountIds: [], maskedName: "Wanjiru K***" };
const notices: Notice[] = [
  ...cashInNotices({ agent, institution, party, fee }, 250_000n, id),
  ...cashInNotices({ agent, institution, party, fee: { feeMinor: 0n, commissionMinor: 0n } }, 250_000n, id),
  ...cashOutNotices({ agent, institution, customer, fee }, 150_000n, id),
  approvalPrompt({ agent, institution, customer, fee }, 150_000n, id, 300),
  declinedNotice(agent, 150_000n, "KES", id),
  cancelledNotice(agent, 150_000n, "KES", id),
];

describe("agent notices against the SMS templates", () => {
  const renderer = createNoticeRenderer();

  it("covers every agent template", () => {
    expect(new Set(notices.map((n) => n.template))).toEqual(
      new Set(["receipt.cash_in_customer", "receipt.cash_in_customer_fee", "receipt.cash_in_agent", "receipt.cash_out_customer", "receipt.cash_out_agent", "prompt.cash_out_approve", "notice.cash_out_declined", "notice.cash_out_cancelled"]),
    );
  });

  for (const language of SMS_LANGUAGES) {
    it(`renders each one in ${language} with every slot filled`, () => {
      for (const notice of notices) {
        const text = renderer.render(notice.template, notice.params, language);
        expect(text, notice.template).not.toMatch(/\{\{|undefined/);
        expect(text, notice.template).toMatch(/2,500|1,500|2 500|1 500|2.500|1.500/);
        if (notice.template.startsWith("receipt.cash_in_customer") || notice.template.startsWith("receipt.cash_out_customer")) {
          expect(text).toContain("Amani Shop (500100)");
        }
      }
    });
  }

  it("tells a customer who paid a cash-in fee what it was and what reached the wallet", () => {
    const [toCustomer] = cashInNotices({ agent, institution, party, fee }, 250_000n, id);
    expect(toCustomer!.template).toBe("receipt.cash_in_customer_fee");
    const text = renderer.render(toCustomer!.template, toCustomer!.params, "en");
    expect(text).toContain("Fee KES 33.00");
    expect(text).toContain("you received KES 2,467.00");
  });

  it("shows the agent only part of the customer's number", () => {
    const toAgent = cashOutNotices({ agent, institution, customer, fee }, 150_000n, id)[1]!;
    expect(toAgent.params.customer).toBe("+254***001");
  });
});
