import type { Browser as Chromium } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeEachEngine, makeOrg, signUp } from "../support/app.js";
import { chromiumAvailable, launchChromium, screenshotPath } from "../support/browser.js";

const runs = chromiumAvailable();

describeEachEngine("Stripe Checkout in a browser", (ctx) => {
  let chromium: Chromium;
  beforeAll(async () => {
    if (runs) chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
  });

  it.runIf(runs)(
    "a person pays Maker yearly on the checkout page and comes back subscribed",
    async () => {
      const owner = await signUp(ctx.app);
      const org = await makeOrg(owner);
      const checkout = await owner.request("POST", `/v1/orgs/${org.id}/checkout/subscription`, {
        plan: "maker",
        interval: "year",
      });
      const page = await chromium.newPage({ viewport: { width: 390, height: 844 } });
      try {
        await page.goto(checkout.json().checkout_url);
        await expect(page.getByText("374.40 USD").first()).toBeDefined();
        expect(await page.textContent("body")).toContain("374.40 USD");

        // A declined card leaves the person on the page with the reason.
        await page.getByLabel("Country").selectOption("FR");
        await page.getByLabel("Card number").fill("4000 0000 0000 0002");
        await page.getByLabel(/Expir/).fill("12 / 30");
        await page.getByLabel("CVC").fill("123");
        await page.getByRole("button", { name: "Pay" }).click();
        await page.getByText("Your card was declined.").waitFor();
        expect((await owner.request("GET", `/v1/orgs/${org.id}/subscription`)).json().source).toBe("trial");

        await page.getByLabel("Card number").fill("4242 4242 4242 4242");
        await page.getByLabel(/Expir/).fill("12 / 30");
        await page.getByLabel("CVC").fill("123");
        await page.screenshot({ path: screenshotPath(`stripe-checkout-${ctx.engine}`), fullPage: true });
        await page.getByRole("button", { name: "Pay" }).click();
        await page.waitForURL(/\/plans\?.*checkout=success/);
        expect(page.url()).toContain(`org=${org.id}`);
        expect(await page.textContent("body")).toContain("Payment received");

        await ctx.stripeEmulator.idle();
        const subscription = (await owner.request("GET", `/v1/orgs/${org.id}/subscription`)).json();
        expect(subscription).toMatchObject({ plan: "maker", interval: "year", status: "active" });
      } finally {
        await page.close();
      }
    },
    60_000,
  );
});
