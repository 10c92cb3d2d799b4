import { afterAll, expect, it } from "vitest";
import { queueEmail } from "../src/db/emailRepo.js";
import { type MailTransport, smtpTransport } from "../src/mail/transport.js";
import { createApiKey } from "../src/services/accounts/apiKeys.js";
import { grantCredits } from "../src/services/credits/creditGrants.js";
import { warnExpiringCredits } from "../src/services/credits/expireCredits.js";
import { defaultDispatchSettings, EmailDispatcher } from "../src/workers/emailDispatcher.js";
import {
  describeEachEngine,
  expectError,
  makeTeam,
  signUp,
  type TestContext,
  uniqueEmail,
} from "./support/app.js";
import { startSmtpReceiver } from "./support/smtp.js";
import { advanceStripeClock, subscribe } from "./support/stripe.js";

const smtp = await startSmtpReceiver();
afterAll(() => smtp.close());

const GIB = 2 ** 30;
const SUPPORT = "sales@meterline.test";

describeEachEngine(
  "emails",
  (ctx) => {
    let seq = 0;

    async function platformKey() {
      const { key } = await createApiKey({
        db: ctx.db.kysely,
        orgId: null,
        name: "ops",
        scopes: ["admin", "usage:write"],
        createdBy: null,
        now: new Date(),
      });
      return key;
    }

    /** An org whose billing email was set and confirmed through the link sent to it. */
    async function billingTeam() {
      const team = await makeTeam(ctx.app);
      const billingEmail = `billing.${team.org.id}@acme.test`;
      const patched = await team.owner.request("PATCH", `/v1/orgs/${team.org.id}`, {
        billing_email: billingEmail,
      });
      expect(patched.statusCode, patched.body).toBe(200);
      const confirmed = await confirm(await linkSentTo(billingEmail));
      expect(confirmed.statusCode, confirmed.body).toBe(200);
      return { ...team, billingEmail, key: await platformKey() };
    }

    function confirmations(address: string) {
      return smtp.received.filter(
        (email) => email.to.includes(address) && email.subject.startsWith(`Confirm ${address} `),
      );
    }

    /** The token of the latest confirmation link `address` received. */
    async function linkSentTo(address: string): Promise<string> {
      await smtp.waitFor(() => confirmations(address).length > 0);
      const text = confirmations(address).at(-1)?.text ?? "";
      const token = /\/confirm-billing-email\?token=(\S+)/.exec(text)?.[1];
      if (!token) throw new Error(`no confirmation link in: ${text}`);
      return decodeURIComponent(token);
    }

    /** What the console's confirmation page sends, signed in or not. */
    function confirm(token: string) {
      return ctx.app.inject({ method: "POST", url: "/v1/billing-email/confirm", payload: { token } });
    }

    async function send(key: string, events: Record<string, unknown>[]) {
      const response = await ctx.app.inject({
        method: "POST",
        url: "/v1/usage/events",
        headers: { authorization: `Bearer ${key}` },
        payload: { events },
      });
      expect(response.json().accepted, response.body).toBe(events.length);
    }

    function bandwidth(orgId: string, bytes: number, at = ctx.clock.now()) {
      return {
        id: `bw-${++seq}-${Date.now()}`,
        org_id: orgId,
        app_id: "app",
        metric: "bandwidth",
        value: bytes,
        timestamp: at.toISOString(),
      };
    }

    /** The billing mail `address` received: everything but the links confirming it. */
    function to(address: string) {
      const links = new Set(confirmations(address));
      return smtp.received.filter((email) => email.to.includes(address) && !links.has(email));
    }

    /** Queues and sends a credits-expiring warning: billing mail on demand. */
    async function expiringCreditsWarning(orgId: string) {
      const now = ctx.clock.now();
      await grantCredits({
        db: ctx.db.kysely,
        orgId,
        amount: 1_000_000n,
        expiresAt: new Date(now.getTime() + 3 * 86_400_000),
        note: "soon",
        now,
      });
      await warnExpiringCredits({ db: ctx.db.kysely, now });
      await ctx.emails.wake();
      const queued = await ctx.db.kysely
        .selectFrom("emails")
        .select(["id", "recipients"])
        .where("org_id", "=", orgId)
        .where("kind", "=", "credits_expiring")
        .orderBy("id", "desc")
        .executeTakeFirst();
      return queued ?? null;
    }

    async function settle() {
      await ctx.alerts.idle();
      await ctx.overage.idle();
      await ctx.emails.wake();
    }

    it("a trial org climbing through 55, 72, 93 and 102% of its bandwidth gets the 50, 70, 90 and 100% emails once each", async () => {
      const team = await billingTeam();
      const quota = 13 * GIB;
      // Noon on the 15th of this month; each step is the traffic of days before.
      const today = new Date();
      const day = (n: number) => new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), n, 12));
      ctx.clock.offsetMs = day(15).getTime() - Date.now();
      try {
        let sent = 0;
        for (const [percent, threshold, days] of [
          [55, 50, [9, 10, 11]],
          [72, 70, [12]],
          [93, 90, [13]],
          [102, 100, [14]],
        ] as const) {
          const target = Math.ceil((quota * percent) / 100);
          const share = Math.floor((target - sent) / days.length);
          await send(
            team.key,
            days.map((on, n) =>
              bandwidth(team.org.id, n === days.length - 1 ? target - sent - share * n : share, day(on)),
            ),
          );
          sent = target;
          await smtp.waitFor(() =>
            to(team.billingEmail).some((email) => email.subject.includes(`at ${threshold}%`)),
          );
        }
        // More usage after 100% sends nothing more.
        await send(team.key, [bandwidth(team.org.id, GIB)]);
        await new Promise((resolve) => setTimeout(resolve, 1_200));
        await settle();
      } finally {
        ctx.clock.offsetMs = 0;
      }

      const mine = to(team.billingEmail);
      expect(mine.map((email) => email.subject)).toEqual([
        "Bandwidth at 50% of your Solo trial",
        "Bandwidth at 70% of your Solo trial",
        "Bandwidth at 90% of your Solo trial",
        "Bandwidth at 100% of your Solo trial",
      ]);
      const seventy = mine[1];
      expect(seventy?.text).toContain(
        "has used 72% of the bandwidth included in its Solo trial: 9.36 of 13 GiB",
      );
      // 9.36 GiB over the last 7 complete days: 1.34 a day, 3.64 GiB to go from the 15th at noon.
      expect(seventy?.text).toMatch(/At the current rate the quota is reached on 18 \w+ 20\d\d\./);
      expect(seventy?.text).toContain(`/usage?org=${team.org.id}`);
      expect(seventy?.text).toContain(`/plans?org=${team.org.id}`);
      expect(seventy?.html).toContain("<a href=");
      expect(mine[3]?.text).toContain("The quota is reached.");
      // One message per email, each to all of the org's billing contacts at once.
      expect(new Set(mine.map((email) => email.messageId)).size).toBe(4);
      expect(mine[0]?.to.sort()).toEqual(
        [team.owner.user.email, team.billing_admin.user.email, team.billingEmail].sort(),
      );

      const listed = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/emails`)).json();
      expect(
        listed.items.map((email: { subject: string; status: string }) => [email.subject, email.status]),
      ).toEqual([
        ["Bandwidth at 100% of your Solo trial", "sent"],
        ["Bandwidth at 90% of your Solo trial", "sent"],
        ["Bandwidth at 70% of your Solo trial", "sent"],
        ["Bandwidth at 50% of your Solo trial", "sent"],
        [`Confirm ${team.billingEmail} as the billing email of Acme`, "sent"],
      ]);
      expect(listed.items[0]).toMatchObject({ kind: "usage_quota", transport: "smtp", attempts: 1 });
    });

    it("sends to owners and billing admins who did not opt out, and the billing email: never admins, members or other orgs", async () => {
      const team = await billingTeam();
      const out = await team.owner.request("PATCH", `/v1/orgs/${team.org.id}/email-preferences`, {
        usage_quota: false,
      });
      expect(out.statusCode, out.body).toBe(200);
      expect(out.json()).toMatchObject({ usage_quota: false, credits_used: true, payment_failed: true });
      expect(
        (await team.owner.request("GET", `/v1/orgs/${team.org.id}/email-preferences`)).json().usage_quota,
      ).toBe(false);
      // Unknown kinds and wrong types are refused, naming the field, and change nothing.
      const bad = await team.owner.request("PATCH", `/v1/orgs/${team.org.id}/email-preferences`, {
        usage_quota: "no",
      });
      expect(expectError(bad, 400, "invalid_request").message).toContain("usage_quota");
      const unknown = await team.owner.request("PATCH", `/v1/orgs/${team.org.id}/email-preferences`, {
        spam: false,
      });
      expect(expectError(unknown, 400, "invalid_request").message).toContain("spam");

      await send(team.key, [bandwidth(team.org.id, Math.ceil(13 * GIB * 0.6))]);
      await smtp.waitFor(() => to(team.billingEmail).length === 1);
      const [email] = to(team.billingEmail);
      expect(email?.to.sort()).toEqual([team.billing_admin.user.email, team.billingEmail].sort());
      const addressed = to(team.billingEmail).flatMap((received) => received.to);
      for (const person of [team.owner, team.admin, team.member, team.outsider]) {
        expect(addressed).not.toContain(person.user.email);
      }
      // Admins read the history; members see no billing; other orgs see nothing.
      expect((await team.admin.request("GET", `/v1/orgs/${team.org.id}/emails`)).statusCode).toBe(200);
      expectError(await team.member.request("GET", `/v1/orgs/${team.org.id}/emails`), 403, "forbidden");
      expectError(await team.outsider.request("GET", `/v1/orgs/${team.org.id}/emails`), 404, "not_found");
    });

    it("a new billing email gets its confirmation link and no billing mail until it opens it, then billing mail too; the link works once", async () => {
      const team = await makeTeam(ctx.app);
      const address = `billing.${team.org.id}@acme.test`;
      const patched = await team.owner.request("PATCH", `/v1/orgs/${team.org.id}`, {
        billing_email: address,
      });
      expect(patched.json()).toMatchObject({ billing_email: address, billing_email_confirmed: false });
      const token = await linkSentTo(address);
      const [link] = confirmations(address);
      expect(link?.to).toEqual([address]);
      expect(link?.subject).toBe(`Confirm ${address} as the billing email of Acme`);
      expect(link?.text).toContain(`Owner set ${address} as the billing email of Acme on Meterline.`);
      // The organization's list shows that email, but not its link: reading it there confirms nothing.
      const listed = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/emails`)).json().items;
      expect(listed[0]).toMatchObject({ kind: "billing_email_confirmation", recipients: [address] });
      expect(listed[0].text).not.toContain(token.split(".")[1]);
      expect(listed[0].text).toContain("Confirm this address: (in the email only)");

      // Meanwhile billing mail goes to the owner and the billing admin only.
      const pending = await expiringCreditsWarning(team.org.id);
      expect(pending?.recipients.sort()).toEqual(
        [team.owner.user.email, team.billing_admin.user.email].sort(),
      );
      await smtp.waitFor(() => smtp.received.some((email) => email.to.includes(team.owner.user.email)));
      expect(to(address)).toEqual([]);

      const confirmed = await confirm(token);
      expect(confirmed.statusCode, confirmed.body).toBe(200);
      expect(confirmed.json()).toEqual({ billing_email: address, org_name: "Acme", confirmed: true });
      expect((await team.billing_admin.request("GET", `/v1/orgs/${team.org.id}`)).json()).toMatchObject({
        billing_email: address,
        billing_email_confirmed: true,
      });
      expect(expectError(await confirm(token), 400, "invalid_token").message).toBe(
        `This link was already used: ${address} is confirmed`,
      );

      // From then on billing mail reaches it, with the owner and billing admin.
      const confirmedWarning = await expiringCreditsWarning(team.org.id);
      expect(confirmedWarning?.recipients.sort()).toEqual(
        [team.owner.user.email, team.billing_admin.user.email, address].sort(),
      );
      await smtp.waitFor(() => to(address).length === 1);
      expect(to(address)[0]?.subject).toMatch(/credits expire on/);
      // Setting it again changes nothing and sends no other link.
      await team.owner.request("PATCH", `/v1/orgs/${team.org.id}`, { billing_email: address });
      expect(
        (await team.owner.request("GET", `/v1/orgs/${team.org.id}`)).json().billing_email_confirmed,
      ).toBe(true);
      await ctx.emails.wake();
      expect(confirmations(address)).toHaveLength(1);
    });

    it("refuses a made-up, malformed, replaced or expired link; another address waits for its own link, and gets no billing mail meanwhile", async () => {
      const team = await billingTeam();
      const second = `second.${team.org.id}@acme.test`;
      const third = `third.${team.org.id}@acme.test`;
      const patched = await team.billing_admin.request("PATCH", `/v1/orgs/${team.org.id}`, {
        billing_email: second,
      });
      expect(patched.json()).toMatchObject({ billing_email: second, billing_email_confirmed: false });
      const secondToken = await linkSentTo(second);

      const madeUp = `${team.org.id}.${"A".repeat(43)}`;
      expect(expectError(await confirm(madeUp), 400, "invalid_token").message).toBe(
        "This confirmation link is not valid: check that the whole link was opened",
      );
      const otherOrg = `${team.otherOrg.id}.${secondToken.split(".")[1]}`;
      expectError(await confirm(otherOrg), 400, "invalid_token");
      expect(expectError(await confirm("nope"), 400, "invalid_request").message).toContain("body.token");

      // A third address replaces the second: the second's link confirms nothing now.
      await team.owner.request("PATCH", `/v1/orgs/${team.org.id}`, { billing_email: third });
      const thirdToken = await linkSentTo(third);
      expect(expectError(await confirm(secondToken), 400, "invalid_token").message).toBe(
        `${second} is no longer the billing email of Acme: this link confirms nothing`,
      );
      // Links last 7 days.
      ctx.clock.offsetMs = 7 * 86_400_000 + 1_000;
      try {
        expect(expectError(await confirm(thirdToken), 400, "invalid_token").message).toMatch(
          /^This link expired on .*; ask an owner of Acme to set the billing email again for a new one$/,
        );
      } finally {
        ctx.clock.offsetMs = 0;
      }
      expect((await team.owner.request("GET", `/v1/orgs/${team.org.id}`)).json()).toMatchObject({
        billing_email: third,
        billing_email_confirmed: false,
      });

      // Billing mail goes to none of the three addresses while the billing email waits.
      const warning = await expiringCreditsWarning(team.org.id);
      expect(warning?.recipients.sort()).toEqual(
        [team.owner.user.email, team.billing_admin.user.email].sort(),
      );
      await smtp.waitFor(() =>
        smtp.received.some(
          (email) => email.subject.includes("expire") && email.to.includes(team.owner.user.email),
        ),
      );
      for (const address of [team.billingEmail, second, third]) expect(to(address)).toEqual([]);
    });

    it("a billing email of one's own needs no link; an organization created with another waits for its link", async () => {
      const person = await signUp(ctx.app, { name: "Ann" });
      const own = await person.request("POST", "/v1/orgs", { name: "Own" });
      expect(own.json()).toMatchObject({ billing_email: person.user.email, billing_email_confirmed: true });
      const address = uniqueEmail("finance");
      const created = await person.request("POST", "/v1/orgs", { name: "Shared", billing_email: address });
      expect(created.json()).toMatchObject({ billing_email: address, billing_email_confirmed: false });
      await linkSentTo(address);
      expect(confirmations(address)[0]?.text).toContain(`Ann set ${address} as the billing email of Shared`);
      // Setting one's own address again, in any case, confirms it without a link.
      const mine = await person.request("PATCH", `/v1/orgs/${created.json().id}`, {
        billing_email: person.user.email.toUpperCase(),
      });
      expect(mine.json()).toMatchObject({ billing_email: person.user.email, billing_email_confirmed: true });
      await ctx.emails.wake();
      expect(confirmations(person.user.email)).toEqual([]);
    });

    it("queues no billing mail when everyone who would receive it opted out and the billing email waits", async () => {
      const team = await makeTeam(ctx.app);
      await team.owner.request("PATCH", `/v1/orgs/${team.org.id}`, { billing_email: uniqueEmail("pending") });
      for (const person of [team.owner, team.billing_admin]) {
        const out = await person.request("PATCH", `/v1/orgs/${team.org.id}/email-preferences`, {
          credits_expiring: false,
        });
        expect(out.statusCode, out.body).toBe(200);
      }
      expect(await expiringCreditsWarning(team.org.id)).toBeNull();
    });

    it("two dispatchers send each email exactly once", async () => {
      const team = await billingTeam();
      const now = ctx.clock.now();
      for (let i = 0; i < 30; i++) {
        await queueEmail(ctx.db.kysely, {
          orgId: team.org.id,
          dedupeKey: `race-${i}`,
          facts: { kind: "credits_exhausted", org_name: `race ${i}`, owed: "1.000000" },
          now,
        });
      }
      const second = dispatcher(ctx, smtpTransport(smtp.url));
      await Promise.all([ctx.emails.wake(), second.wake(), ctx.emails.wake(), second.wake()]);
      await Promise.all([ctx.emails.idle(), second.idle()]);
      await second.close();
      const mine = to(team.billingEmail);
      expect(mine).toHaveLength(30);
      expect(new Set(mine.map((email) => email.text.match(/race \d+/)?.[0])).size).toBe(30);
    });

    it("an email whose dispatcher stopped between sending and marking it is never sent again", async () => {
      const team = await billingTeam();
      // Due a minute from now, so the app's own dispatcher leaves it to the one that stops.
      const ahead = { now: () => new Date(ctx.clock.now().getTime() + 60_000) };
      await queueEmail(ctx.db.kysely, {
        orgId: team.org.id,
        dedupeKey: "crash",
        facts: { kind: "credits_exhausted", org_name: "crash", owed: "2.000000" },
        now: ahead.now(),
      });
      // A dispatcher that sends, then stops for good before it can mark the email sent.
      const real = smtpTransport(smtp.url);
      const stopping: MailTransport = {
        name: "smtp",
        send: async (message) => {
          await real.send(message);
          await new Promise(() => {});
        },
        close: () => real.close(),
      };
      void dispatcher(ctx, stopping, ahead).wake();
      await smtp.waitFor(() => to(team.billingEmail).length === 1);
      try {
        // Due now for the app's dispatcher too, but claimed: not sent again, then, once the
        // claim is older than its lease, marked unconfirmed — still not sent again.
        ctx.clock.offsetMs = 61_000;
        await ctx.emails.wake();
        ctx.clock.offsetMs = 61_000 + defaultDispatchSettings.claimLeaseMs;
        await ctx.emails.wake();
      } finally {
        ctx.clock.offsetMs = 0;
      }
      expect(to(team.billingEmail)).toHaveLength(1);
      const [listed] = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/emails`)).json().items;
      expect(listed).toMatchObject({ status: "unconfirmed", attempts: 1 });
      real.close();
    });

    it("retries a refusing SMTP server with backoff until it takes the email; nothing is lost", async () => {
      const team = await billingTeam();
      smtp.refuseNext(2);
      await queueEmail(ctx.db.kysely, {
        orgId: team.org.id,
        dedupeKey: "retry",
        facts: { kind: "credits_exhausted", org_name: "retry", owed: "3.000000" },
        now: ctx.clock.now(),
      });
      await ctx.emails.wake();
      const first = () =>
        team.owner.request("GET", `/v1/orgs/${team.org.id}/emails`).then((r) => r.json().items[0]);
      let row = await eventually(first, (email) => email.status === "pending" && email.attempts === 1);
      expect(row).toMatchObject({ status: "pending", attempts: 1 });
      expect(row.last_error).toContain("try again later");
      // Not before its backoff, then again after it (30 s, then 60 s).
      await ctx.emails.wake();
      expect((await first()).attempts).toBe(1);
      try {
        ctx.clock.offsetMs = 31_000;
        await ctx.emails.wake();
        row = await eventually(first, (email) => email.status === "pending" && email.attempts === 2);
        expect(row).toMatchObject({ status: "pending", attempts: 2 });
        ctx.clock.offsetMs = 31_000 + 61_000;
        await ctx.emails.wake();
        row = await eventually(first, (email) => email.status === "sent");
      } finally {
        ctx.clock.offsetMs = 0;
      }
      expect(row).toMatchObject({ status: "sent", attempts: 3, last_error: null });
      expect(to(team.billingEmail)).toHaveLength(1);

      // An SMTP server that cannot be reached: the email waits for its next attempt. It is due
      // a minute from now, for the dispatcher that cannot reach its server only.
      const later = { now: () => new Date(ctx.clock.now().getTime() + 60_000) };
      await queueEmail(ctx.db.kysely, {
        orgId: team.org.id,
        dedupeKey: "unreachable",
        facts: { kind: "credits_exhausted", org_name: "unreachable", owed: "4.000000" },
        now: later.now(),
      });
      const away = dispatcher(ctx, smtpTransport("smtp://127.0.0.1:9"), later);
      await away.wake();
      await away.close();
      row = await first();
      expect(row).toMatchObject({ status: "pending", attempts: 1 });
      expect(row.last_error).toMatch(/ECONNREFUSED|connect/);
    });

    it("tells of credits: 90% used, then exhausted with updates paused, once each", async () => {
      const team = await billingTeam();
      const grant = await ctx.app.inject({
        method: "POST",
        url: `/v1/admin/orgs/${team.org.id}/credits/grants`,
        headers: { authorization: `Bearer ${team.key}` },
        payload: { amount: 1, note: "try" },
      });
      expect(grant.statusCode).toBe(201);
      const devices = (from: number, to: number) =>
        Array.from({ length: to - from }, (_, i) => ({
          id: `mau-${team.org.id}-${from + i}`,
          org_id: team.org.id,
          app_id: "app",
          metric: "mau",
          device_id: `d-${from + i}`,
          timestamp: ctx.clock.now().toISOString(),
        }));
      await send(team.key, devices(0, 1000));
      await send(team.key, devices(1000, 2000));
      await send(team.key, devices(2000, 2300)); // 300 over: 0.9 of 1 credit
      await smtp.waitFor(() =>
        to(team.billingEmail).some((email) => email.subject === "90% of your credits used"),
      );
      await send(team.key, devices(2300, 2400)); // 1.2 owed: 0.2 unpaid
      await smtp.waitFor(() =>
        to(team.billingEmail).some((email) => email.subject === "Credits exhausted: updates paused"),
      );
      await send(team.key, devices(2400, 2500));
      await new Promise((resolve) => setTimeout(resolve, 700));
      await settle();
      const subjects = to(team.billingEmail).map((email) => email.subject);
      expect(subjects.filter((subject) => subject.includes("credits used"))).toEqual([
        "90% of your credits used",
        "100% of your credits used",
      ]);
      expect(subjects.filter((subject) => subject.startsWith("Credits exhausted"))).toHaveLength(1);
      const exhausted = to(team.billingEmail).find((email) => email.subject.startsWith("Credits exhausted"));
      expect(exhausted?.text).toContain("0.20 credits of this cycle's overage are unpaid");
      expect(exhausted?.text).toContain(`/credits?org=${team.org.id}`);
    });

    it("warns once of credits expiring within 7 days", async () => {
      const team = await billingTeam();
      const now = ctx.clock.now();
      await grantCredits({
        db: ctx.db.kysely,
        orgId: team.org.id,
        amount: 12_500_000n,
        expiresAt: new Date(now.getTime() + 3 * 86_400_000),
        note: "soon",
        now,
      });
      await grantCredits({ db: ctx.db.kysely, orgId: team.org.id, amount: 5_000_000n, note: "later", now });
      await warnExpiringCredits({ db: ctx.db.kysely, now });
      await warnExpiringCredits({ db: ctx.db.kysely, now });
      await ctx.emails.wake();
      const warnings = to(team.billingEmail).filter((email) => email.subject.includes("expire"));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.subject).toMatch(/^12\.50 credits expire on \d{1,2} \w+ 20\d\d$/);
    });

    it("sends a custom plan request to the support address only", async () => {
      const team = await billingTeam();
      const response = await team.owner.request("POST", `/v1/orgs/${team.org.id}/contact-sales`, {
        message: "We need 40M MAU\nand SSO.",
      });
      expect(response.statusCode).toBe(201);
      await ctx.emails.wake();
      const request = to(SUPPORT).find((email) => email.text.includes(team.org.id));
      expect(request?.to).toEqual([SUPPORT]);
      expect(request?.subject).toBe("Custom plan request from Acme");
      expect(request?.text).toContain("We need 40M MAU\nand SSO.");
      expect(request?.text).toContain(team.owner.user.email);
      expect(to(team.billingEmail)).toHaveLength(0);
    });

    it("tells of a new plan and a cancellation, once each", async () => {
      const team = await billingTeam();
      await subscribe(ctx, team.owner, team.org.id, { plan: "maker", interval: "year" });
      await ctx.stripeEmulator.idle();
      await ctx.emails.wake();
      await smtp.waitFor(() =>
        to(team.billingEmail).some((email) => email.subject.startsWith("Your plan is now")),
      );
      const cancel = await team.owner.request("POST", `/v1/orgs/${team.org.id}/subscription/cancel`);
      expect(cancel.statusCode, cancel.body).toBe(200);
      await ctx.stripeEmulator.idle();
      await ctx.emails.wake();
      const subjects = to(team.billingEmail).map((email) => email.subject);
      expect(subjects).toEqual(["Your plan is now Maker (yearly)", "Your Maker plan is canceled"]);
    });

    // Last: it moves the clock a month on.
    it("tells of a failed renewal once, with the end of the grace period", async () => {
      const team = await billingTeam();
      await subscribe(ctx, team.owner, team.org.id, {
        plan: "maker",
        interval: "month",
        card: "4000000000000341",
      });
      await advanceStripeClock(ctx, 32 * 86_400);
      await advanceStripeClock(ctx, 86_400);
      await ctx.emails.wake();
      const failed = to(team.billingEmail).filter(
        (email) => email.subject === "Payment failed for your Maker plan",
      );
      expect(failed).toHaveLength(1);
      expect(failed[0]?.text).toMatch(/keeps serving until \d{1,2} \w+ 20\d\d; update the card/);
    });
  },
  { env: { SMTP_URL: smtp.url, SUPPORT_EMAIL: SUPPORT, MAIL_FROM: "Meterline <billing@meterline.test>" } },
);

function dispatcher(ctx: TestContext, transport: MailTransport, clock: { now(): Date } = ctx.clock) {
  return new EmailDispatcher({
    db: ctx.db.kysely,
    transport,
    settings: { ...defaultDispatchSettings, from: "Meterline <billing@meterline.test>", publicUrl: ctx.url },
    clock,
  });
}

/** Polls `read` until `done` holds of its answer (a dispatcher woken by NOTIFY may still be at work). */
async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await read();
  }
  return value;
}
