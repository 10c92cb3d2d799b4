import type { BrowserContextOptions, Browser as Chromium, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { readEmails } from "../../src/services/emails/readEmails.js";
import {
  describeEachEngine,
  makeTeam,
  reportNewDevices,
  sessionCookieOf,
  uniqueEmail,
  usageKey,
} from "../support/app.js";

import { chromiumAvailable, launchChromium, screenshotPath } from "../support/browser.js";

const runs = chromiumAvailable();
const PASSWORD = "correct horse battery";

describeEachEngine("the web console in a browser", (ctx) => {
  let chromium: Chromium;
  beforeAll(async () => {
    if (runs) chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
  });

  // Whatever a page does, the Content-Security-Policy must not have to refuse it: a refusal
  // means the policy breaks the console (or the page tried something it must not).
  let refusals: string[] = [];
  afterEach(() => {
    const seen = refusals;
    refusals = [];
    expect(seen, "Content-Security-Policy refusals").toEqual([]);
  });
  async function openPage(options?: BrowserContextOptions): Promise<Page> {
    const page = await chromium.newPage(options);
    page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) refusals.push(`${page.url()}: ${message.text()}`);
    });
    return page;
  }

  async function signIn(page: Page, email: string, path: string) {
    await page.goto(`${ctx.url}${path}`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
  }

  async function pay(page: Page, card: string) {
    await page.getByLabel("Card number").fill(card);
    await page.getByLabel(/Expir/).fill("12 / 30");
    await page.getByLabel("CVC").fill("123");
    await page.getByRole("button", { name: "Pay" }).click();
  }

  it.runIf(runs)(
    "an owner signs in, subscribes to Team yearly, and buys 250 credits seeing 300.00 with French VAT first",
    async () => {
      const team = await makeTeam(ctx.app);
      await team.owner.request("PATCH", `/v1/orgs/${team.org.id}`, { country: "FR" });
      const page = await openPage({ viewport: { width: 390, height: 844 } });
      try {
        // A signed-out visit to the Plans page asks to sign in, then comes back to it.
        await signIn(page, team.owner.user.email, `/plans?org=${team.org.id}`);
        await page.getByRole("heading", { name: "Plans", exact: true }).waitFor();
        expect(page.url()).toContain(`/plans?org=${team.org.id}`);
        expect(await page.textContent("main")).toContain("Your plan never changes by itself");
        await page.screenshot({ path: screenshotPath(`console-plans-${ctx.engine}`), fullPage: true });

        await page.getByRole("button", { name: /Annual/ }).click();
        const teamCard = page.getByRole("article", { name: /^Team/ });
        expect(await teamCard.textContent()).toContain("$79.20");
        expect(await teamCard.textContent()).toContain("billed $950.40 yearly");
        expect(await teamCard.textContent()).toContain("then 0.003 credits per MAU");
        await teamCard.getByRole("button", { name: "Subscribe" }).click();

        // Stripe Checkout (the emulator's page): a declined card changes nothing.
        await page.waitForURL(/\/checkout\//);
        expect(await page.textContent("body")).toContain("950.40 USD");
        await page.getByLabel("Country").selectOption("FR");
        await pay(page, "4000 0000 0000 0002");
        await page.getByText("Your card was declined.").waitFor();
        expect((await team.owner.request("GET", `/v1/orgs/${team.org.id}/subscription`)).json().source).toBe(
          "trial",
        );
        await pay(page, "4242 4242 4242 4242");

        await page.waitForURL(/\/plans\?.*checkout=success/);
        await page.getByText("Payment received").first().waitFor();
        await page.getByRole("article", { name: /^Team.*Current plan/ }).waitFor();
        expect(
          (await team.owner.request("GET", `/v1/orgs/${team.org.id}/subscription`)).json(),
        ).toMatchObject({
          plan: "team",
          interval: "year",
          status: "active",
        });
        await page.screenshot({ path: screenshotPath(`console-subscribed-${ctx.engine}`), fullPage: true });

        // Credits: a custom amount, its total with tax before paying, then the balance and history.
        await page.getByRole("link", { name: "Credits", exact: true }).click();
        await page.getByRole("heading", { name: "Credits", exact: true }).waitFor();
        await page.getByLabel("Custom amount").fill("250");
        await page.getByText("Total $300.00").waitFor();
        expect(await page.textContent(".estimate")).toContain("$250.00 + $50.00 tax (FR 20%)");
        await page.getByRole("button", { name: "Buy credits" }).click();
        await page.waitForURL(/\/checkout\//);
        expect(await page.textContent("body")).toContain("300.00 USD");
        await pay(page, "4242 4242 4242 4242");
        await page.waitForURL(/\/credits\?/);
        await page.getByText("250.00 credits added").waitFor();
        await page.getByTestId("available").getByText("250.00").first().waitFor();
        const row = page.getByRole("row", { name: /purchase/ });
        expect(await row.textContent()).toContain("250.00");
        await page.screenshot({ path: screenshotPath(`console-credits-${ctx.engine}`), fullPage: true });
        const figures = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/credits`)).json();
        expect(figures).toMatchObject({ available: "250.000000", total: "250.000000" });

        // The switcher: another organization of the owner keeps its own plan and credits.
        const second = (await team.owner.request("POST", "/v1/orgs", { name: "Second Org" })).json();
        await page.reload();
        await page.getByLabel("Organization").selectOption(second.id);
        await page.waitForURL(new RegExp(`/credits\\?org=${second.id}`));
        await page.getByTestId("available").getByText("0.00").first().waitFor();
        await page.getByRole("link", { name: "Plans", exact: true }).click();
        await page.getByText("Second Org is on a free trial of Solo").waitFor();
        expect(await page.getByRole("button", { name: "Subscribe" }).count()).toBe(4);

        // A custom plan request from the Plans page.
        await page.getByRole("button", { name: "Contact us" }).click();
        await page.getByLabel("Message").fill("40M MAU and SSO, please.");
        await page.getByRole("button", { name: "Send" }).click();
        await page.getByText("Thanks: our team will write to you soon.").waitFor();
        const requests = await ctx.db.kysely
          .selectFrom("contact_requests")
          .selectAll()
          .where("org_id", "=", second.id)
          .execute();
        expect(requests.map((request) => request.message)).toEqual(["40M MAU and SSO, please."]);
        await page.getByLabel("Organization").selectOption(team.org.id);

        // Usage: bars, forecast and entitlements, in two requests.
        await page.getByRole("link", { name: "Usage", exact: true }).click();
        await page.getByRole("heading", { name: "Entitlements" }).waitFor();
        expect(await page.textContent("main")).toContain("Serving updates: allowed");
        await page.screenshot({ path: screenshotPath(`console-usage-${ctx.engine}`), fullPage: true });
      } finally {
        await page.close();
      }
    },
    90_000,
  );

  it.runIf(runs)(
    "a member sees no billing; an admin reads it without buying or changing anything",
    async () => {
      const team = await makeTeam(ctx.app);
      const member = await openPage({ viewport: { width: 390, height: 844 } });
      const admin = await openPage();
      try {
        // By keyboard alone: the email field, Tab to the password, Enter to sign in.
        await member.goto(`${ctx.url}/credits?org=${team.org.id}`);
        await member.getByLabel("Email").focus();
        await member.keyboard.type(team.member.user.email);
        await member.keyboard.press("Tab");
        await member.keyboard.type(PASSWORD);
        await member.keyboard.press("Enter");
        await member.getByText(/visible to its owners, billing admins and admins/).waitFor();
        expect(await member.getByRole("button", { name: "Buy credits" }).count()).toBe(0);
        await member.getByRole("link", { name: "Plans", exact: true }).click();
        await member.getByText(/visible to its owners, billing admins and admins/).waitFor();
        expect(await member.getByRole("button", { name: "Subscribe" }).count()).toBe(0);
        await member.screenshot({ path: screenshotPath(`console-member-${ctx.engine}`), fullPage: true });

        await signIn(admin, team.admin.user.email, `/plans?org=${team.org.id}`);
        await admin.getByRole("heading", { name: "Plans", exact: true }).waitFor();
        await admin.getByText("Only owners and billing admins can change the plan.").waitFor();
        expect(await admin.getByRole("button", { name: "Subscribe" }).count()).toBe(0);
        await admin.getByRole("link", { name: "Credits", exact: true }).click();
        await admin.getByText("Only owners and billing admins can buy credits.").waitFor();
      } finally {
        await member.close();
        await admin.close();
      }
    },
    60_000,
  );

  it.runIf(runs)(
    "the Usage page shows a Solo trial at 12,000 MAU that Maker, yearly, costs least, with every option's figures",
    async () => {
      const team = await makeTeam(ctx.app);
      const key = await usageKey(ctx.db, team.org.id);
      await reportNewDevices(ctx.app, { key, orgId: team.org.id, count: 12_000, at: ctx.clock.now() });
      const page = await openPage({ viewport: { width: 390, height: 844 } });
      try {
        await signIn(page, team.owner.user.email, `/usage?org=${team.org.id}`);
        await page.getByRole("heading", { name: "Cheapest way to pay" }).waitFor();
        const advice = page.getByRole("region", { name: "Cheapest way to pay" });
        expect(await advice.textContent()).toContain("Recommended: Maker, billed yearly");
        expect(await advice.textContent()).toContain(
          "against 44.00 USD on the Solo trial with 30.00 credits of overage.",
        );
        const row = (name: string) => advice.getByRole("row", { name }).textContent();
        expect(await row("Solo trial monthly")).toMatch(/\$14\.00\s*30\.00\s*\$44\.00/);
        expect(await row("Maker monthly")).toMatch(/\$39\.00\s*6\.00\s*\$45\.00/);
        expect(await row("Maker yearly")).toMatch(/\$31\.20\s*6\.00\s*\$37\.20/);
        expect(await advice.locator("tr.recommended").textContent()).toContain("Maker");
        expect(await advice.locator('tr[aria-current="true"]').textContent()).toContain("Solo");
        await page.screenshot({ path: screenshotPath(`console-advisor-${ctx.engine}`), fullPage: true });
      } finally {
        await page.close();
      }
    },
    60_000,
  );

  it.runIf(runs)(
    "the owner changes their password on the Account page, which signs out their other browser, then signs out everywhere",
    async () => {
      const team = await makeTeam(ctx.app);
      const email = team.owner.user.email;
      const NEW_PASSWORD = "a brand new passphrase";
      // Two browsers of the owner, each with its own cookies.
      const laptop = await openPage();
      const phone = await openPage({ viewport: { width: 390, height: 844 } });
      try {
        await signIn(phone, email, `/plans?org=${team.org.id}`);
        await phone.getByRole("heading", { name: "Plans", exact: true }).waitFor();
        await signIn(laptop, email, `/plans?org=${team.org.id}`);
        await laptop.getByRole("heading", { name: "Plans", exact: true }).waitFor();

        await laptop.getByRole("link", { name: "Account" }).click();
        await laptop.getByRole("heading", { name: "Account", exact: true }).waitFor();
        expect(laptop.url()).toContain(`/account?org=${team.org.id}`);
        // A wrong current password changes nothing.
        await laptop.getByLabel("Current password").fill("not my password");
        await laptop.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
        await laptop.getByLabel("Confirm new password").fill(NEW_PASSWORD);
        await laptop.getByRole("button", { name: "Change password" }).click();
        await laptop.getByRole("alert").getByText("The current password is incorrect").waitFor();
        await laptop.getByLabel("Current password").fill(PASSWORD);
        await laptop.getByRole("button", { name: "Change password" }).click();
        await laptop.getByText("Password changed.").waitFor();
        await laptop.screenshot({ path: screenshotPath(`console-account-${ctx.engine}`), fullPage: true });

        // The phone's session is over: its next page load asks to sign in.
        await phone.reload();
        await phone.getByRole("heading", { name: "Sign in to Meterline" }).waitFor();
        // The laptop's goes on.
        await laptop.getByRole("link", { name: "Credits", exact: true }).click();
        await laptop.getByRole("heading", { name: "Credits", exact: true }).waitFor();
        // Only the new password signs in now.
        const login = (password: string) =>
          ctx.app.inject({ method: "POST", url: "/v1/auth/login", payload: { email, password } });
        expect((await login(PASSWORD)).statusCode).toBe(401);
        const script = await login(NEW_PASSWORD);
        expect(script.statusCode).toBe(200);

        // Signing out everywhere ends the laptop's session and the one signed in meanwhile.
        await laptop.getByRole("link", { name: "Account" }).click();
        await laptop.getByRole("button", { name: "Sign out everywhere" }).click();
        await laptop.getByRole("heading", { name: "Sign in to Meterline" }).waitFor();
        const me = await ctx.app.inject({
          method: "GET",
          url: "/v1/me",
          headers: { cookie: sessionCookieOf(script) },
        });
        expect(me.statusCode).toBe(401);
        await laptop.goto(`${ctx.url}/plans?org=${team.org.id}`);
        await laptop.getByRole("heading", { name: "Sign in to Meterline" }).waitFor();
      } finally {
        await laptop.close();
        await phone.close();
      }
    },
    60_000,
  );

  it.runIf(runs)(
    "someone without an account opens the link mailed to a new billing email and confirms it with a click",
    async () => {
      const team = await makeTeam(ctx.app);
      const address = uniqueEmail("finance");
      await team.owner.request("PATCH", `/v1/orgs/${team.org.id}`, { billing_email: address });
      // No SMTP server here: the local mailbox holds the email as it was sent.
      const { items } = await readEmails({
        db: ctx.db.kysely,
        orgId: team.org.id,
        publicUrl: ctx.url,
        cursor: null,
        limit: 1,
      });
      const link = /Confirm this address: (\S+)/.exec(items[0]?.text ?? "")?.[1] ?? "";
      expect(link).toContain(`${ctx.url}/confirm-billing-email?token=`);
      const confirmed = async () =>
        (await team.owner.request("GET", `/v1/orgs/${team.org.id}`)).json().billing_email_confirmed;
      const page = await openPage({ viewport: { width: 390, height: 844 } });
      try {
        await page.goto(link);
        await page.getByRole("heading", { name: "Confirm a billing email" }).waitFor();
        // Opening the page, as a mail scanner would, confirms nothing.
        expect(await confirmed()).toBe(false);
        await page.getByRole("button", { name: "Confirm this address" }).click();
        await page.getByText(`${address} is now the billing email of Acme`).waitFor();
        expect(await confirmed()).toBe(true);
        await page.screenshot({
          path: screenshotPath(`console-billing-email-${ctx.engine}`),
          fullPage: true,
        });
        await page.reload();
        await page.getByRole("button", { name: "Confirm this address" }).click();
        await page
          .getByRole("alert")
          .getByText(`This link was already used: ${address} is confirmed`)
          .waitFor();
      } finally {
        await page.close();
      }
    },
    60_000,
  );

  it.runIf(runs)("the API reference at /docs renders under its policy and cannot be framed", async () => {
    const page = await openPage();
    try {
      const response = await page.goto(`${ctx.url}/docs`);
      expect(response?.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
      await page.getByRole("heading", { name: /Meterline API/ }).waitFor();
      await page.getByText("/v1/auth/password").first().waitFor();
      await page.screenshot({ path: screenshotPath(`docs-${ctx.engine}`) });
    } finally {
      await page.close();
    }
  });
});
