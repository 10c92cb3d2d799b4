import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { queuePlanAdvice } from "../../src/workers/planAdviceEmails.js";
import { describeEachEngine, expectError, makeTeam, reportNewDevices, usageKey } from "../support/app.js";

// A trial long enough to move the clock a cycle back and a week on.
const catalogFile = join(mkdtempSync(join(tmpdir(), "meterline-advisor-")), "catalog.json");
writeFileSync(catalogFile, JSON.stringify({ trial: { days: 90, plan: "solo" } }));

const DAY = 86_400_000;

/** Noon on `day` of this month (`monthsAgo` earlier), in UTC: the organization's cycle is the calendar month. */
function dayOfMonth(day: number, monthsAgo = 0): Date {
  const today = new Date();
  return new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - monthsAgo, day, 12));
}

describeEachEngine(
  "plan advisor",
  (ctx) => {
    let seq = 0;

    async function trialTeam() {
      const team = await makeTeam(ctx.app);
      return { ...team, key: await usageKey(ctx.db, team.org.id) };
    }

    /** `count` new devices first seen at `at`, as the host product reports them. */
    const devices = (key: string, orgId: string, count: number, at: Date) =>
      reportNewDevices(ctx.app, { key, orgId, count, at });

    /** Runs `body` with the app's clock at `at`. */
    async function at<T>(when: Date, body: () => Promise<T>): Promise<T> {
      ctx.clock.offsetMs = when.getTime() - Date.now();
      try {
        return await body();
      } finally {
        ctx.clock.offsetMs = 0;
      }
    }

    const option = (
      advice: { options: { plan: string; interval: string }[] },
      plan: string,
      interval: string,
    ) => advice.options.find((o) => o.plan === plan && o.interval === interval);

    it("prices a Solo trial at 12,000 MAU: Solo + 30 credits = 44.00, Maker 39.00 (31.20 a month yearly) + 6 credits; advises Maker", async () => {
      const team = await trialTeam();
      const advice = await at(dayOfMonth(15), async () => {
        await devices(team.key, team.org.id, 12_000, ctx.clock.now());
        const response = await team.owner.request("GET", `/v1/orgs/${team.org.id}/advisor`);
        expect(response.statusCode, response.body).toBe(200);
        return response.json();
      });
      expect(advice.projected.mau).toEqual({ at_cycle_end: 12_000, method: "new_devices" });
      expect(advice.current).toEqual({
        plan: "solo",
        name: "Solo",
        interval: "month",
        trial: true,
        base_usd: "14.00",
        overage_credits: "30.000000",
        total_usd: "44.00",
      });
      expect(option(advice, "solo", "month")).toEqual({
        plan: "solo",
        name: "Solo",
        interval: "month",
        base_usd: "14.00",
        overage_credits: "30.000000",
        total_usd: "44.00",
      });
      // Maker includes 10,000 MAU: the 2,000 above it cost 6 credits at 0.003.
      expect(option(advice, "maker", "month")).toMatchObject({
        base_usd: "39.00",
        overage_credits: "6.000000",
        total_usd: "45.00",
      });
      expect(option(advice, "maker", "year")).toMatchObject({
        base_usd: "31.20",
        overage_credits: "6.000000",
        total_usd: "37.20",
      });
      expect(option(advice, "team", "year")).toMatchObject({ base_usd: "79.20", total_usd: "79.20" });
      expect(advice.options).toHaveLength(8);
      expect(advice.recommended).toEqual({
        plan: "maker",
        name: "Maker",
        interval: "year",
        saving_percent: 15,
        reason:
          "Maker costs least for the projected usage: 37.20 USD a month billed yearly (45.00 monthly) " +
          "with 6.00 credits of overage, against 44.00 USD on the Solo trial with 30.00 credits of overage.",
      });
      expect(advice.spike).toBeNull();
      // Advice only: the plan is what it was.
      const subscription = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/subscription`)).json();
      expect(subscription.plan).toBe("solo");
      expect(subscription.status).toBe("trialing");
    });

    it("advises credits for the same 12,000 MAU when they all came on one past day", async () => {
      const team = await trialTeam();
      const advice = await at(dayOfMonth(15), async () => {
        await devices(team.key, team.org.id, 12_000, dayOfMonth(10));
        return (await team.owner.request("GET", `/v1/orgs/${team.org.id}/advisor`)).json();
      });
      // The one-off day is left out of the new-device rate: still 12,000 at the cycle's end.
      expect(advice.projected.mau.at_cycle_end).toBe(12_000);
      expect(option(advice, "solo", "month")).toMatchObject({ total_usd: "44.00" });
      expect(advice.spike).toEqual({
        metric: "mau",
        kind: "one_day",
        day: dayOfMonth(10).toISOString().slice(0, 10),
      });
      expect(advice.recommended).toMatchObject({ plan: "solo", interval: "month", saving_percent: 0 });
      expect(advice.recommended.reason).toMatch(
        /^This cycle's MAU looks like a spike \(\d{1,2} \w+ alone holds 100% of this cycle's MAU\): credits pay for it on Solo, 44\.00 USD this cycle, without committing to a bigger plan, though Maker would cost 37\.20 USD a month billed yearly if it lasted\.$/,
      );
    });

    it("tells a cycle far above the previous ones for a spike, and lasting use for growth", async () => {
      const spiking = await trialTeam();
      const steady = await trialTeam();
      await at(dayOfMonth(15, 1), async () => {
        await devices(spiking.key, spiking.org.id, 1_000, ctx.clock.now());
        await devices(steady.key, steady.org.id, 11_000, ctx.clock.now());
      });
      const [spike, growth] = await at(dayOfMonth(15), async () => {
        await devices(spiking.key, spiking.org.id, 12_000, dayOfMonth(1));
        await devices(steady.key, steady.org.id, 12_000, dayOfMonth(1));
        return Promise.all(
          [spiking, steady].map(async (team) =>
            (await team.owner.request("GET", `/v1/orgs/${team.org.id}/advisor`)).json(),
          ),
        );
      });
      expect(spike.spike).toEqual({ metric: "mau", kind: "above_history", day: null });
      expect(spike.recommended).toMatchObject({ plan: "solo", interval: "month" });
      expect(spike.recommended.reason).toContain(
        "12,000 projected this cycle against at most 1,000 in the previous cycles",
      );
      expect(growth.spike).toBeNull();
      expect(growth.recommended).toMatchObject({ plan: "maker", interval: "year" });
    });

    it("states how GET …/usage forecasts: MAU by new devices a day, bandwidth by the recent daily mean", async () => {
      const team = await trialTeam();
      const usage = await at(dayOfMonth(15), async () => {
        // 9,000 devices back on the 1st, then 100 new a day; half a GiB served every day.
        await devices(team.key, team.org.id, 9_000, dayOfMonth(1));
        for (let day = 2; day <= 14; day++) await devices(team.key, team.org.id, 100, dayOfMonth(day));
        const events = Array.from({ length: 14 }, (_, n) => ({
          id: `bw-${++seq}-${Date.now()}`,
          org_id: team.org.id,
          app_id: "app",
          metric: "bandwidth",
          value: 2 ** 29,
          timestamp: dayOfMonth(n + 1).toISOString(),
        }));
        const sent = await ctx.app.inject({
          method: "POST",
          url: "/v1/usage/events",
          headers: { authorization: `Bearer ${team.key}` },
          payload: { events },
        });
        expect(sent.json().accepted, sent.body).toBe(14);
        return (await team.owner.request("GET", `/v1/orgs/${team.org.id}/usage`)).json();
      });
      // 10,300 so far, 100 a day for the 16.5 days left; a straight line would say about twice as many.
      expect(usage.metrics.mau).toMatchObject({ used: 10_300 });
      // (The clock runs on from noon on the 15th while the test sends: figures within a minute.)
      const daysLeft = (Date.parse(usage.cycle.end) - dayOfMonth(15).getTime()) / DAY;
      expect(usage.metrics.mau.forecast).toMatchObject({
        method: "new_devices",
        daily_rate: 100,
        quota_reached_on: null,
      });
      expect(usage.metrics.mau.forecast.at_cycle_end).toBeCloseTo(10_300 + 100 * daysLeft, 0);
      // 7 GiB so far at half a GiB a day: Solo's 13 GiB twelve days on, at noon on the 27th.
      expect(usage.metrics.bandwidth.forecast).toMatchObject({ method: "recent_rate", daily_rate: 0.5 });
      const reached = Date.parse(usage.metrics.bandwidth.forecast.quota_reached_on);
      expect(reached - dayOfMonth(27).getTime()).toBeGreaterThanOrEqual(0);
      expect(reached - dayOfMonth(27).getTime()).toBeLessThan(60_000);
      expect(usage.metrics.storage.forecast).toMatchObject({ method: "storage_held", daily_rate: null });
    });

    it("answers billing readers only: a member gets 403, an outsider and an unknown org 404", async () => {
      const team = await trialTeam();
      const url = `/v1/orgs/${team.org.id}/advisor`;
      expect((await team.admin.request("GET", url)).statusCode).toBe(200);
      expect((await team.billing_admin.request("GET", url)).statusCode).toBe(200);
      expectError(await team.member.request("GET", url), 403, "forbidden");
      expectError(await team.outsider.request("GET", url), 404, "not_found");
      expectError(
        await team.owner.request("GET", `/v1/orgs/org_00000000000000000000000000/advisor`),
        404,
        "not_found",
      );
    });

    it("mails the advice once a week, only when another plan saves at least 10%", async () => {
      const saving = await trialTeam();
      const spiking = await trialTeam();
      const fitting = await trialTeam();
      const first = dayOfMonth(15);
      const queued = await at(first, async () => {
        // 12,000 devices back on the cycle's first day, none new since: lasting use.
        await devices(saving.key, saving.org.id, 12_000, dayOfMonth(1));
        await devices(spiking.key, spiking.org.id, 12_000, dayOfMonth(10));
        await devices(fitting.key, fitting.org.id, 1_500, ctx.clock.now());
        const { queued: firstRun, failed } = await queuePlanAdvice({
          db: ctx.db.kysely,
          catalog: ctx.config.catalog,
          now: ctx.clock.now(),
        });
        const { queued: again } = await queuePlanAdvice({
          db: ctx.db.kysely,
          catalog: ctx.config.catalog,
          now: ctx.clock.now(),
        });
        expect(failed).toEqual([]);
        return { first: firstRun, again };
      });
      expect(queued.first).toBeGreaterThanOrEqual(1);
      expect(queued.again).toBe(0);
      // Six days on: nothing, whatever the calendar week; seven days on, the advice again.
      await at(new Date(first.getTime() + 6 * DAY), () =>
        queuePlanAdvice({ db: ctx.db.kysely, catalog: ctx.config.catalog, now: ctx.clock.now() }),
      );
      await at(new Date(first.getTime() + 7 * DAY + 60_000), () =>
        queuePlanAdvice({ db: ctx.db.kysely, catalog: ctx.config.catalog, now: ctx.clock.now() }),
      );
      await ctx.emails.wake();
      const advice = async (team: Awaited<ReturnType<typeof trialTeam>>) =>
        (
          (await team.owner.request("GET", `/v1/orgs/${team.org.id}/emails`)).json().items as {
            kind: string;
            subject: string;
            text: string;
            recipients: string[];
          }[]
        ).filter((email) => email.kind === "plan_advice");
      const mails = await advice(saving);
      expect(mails.map((email) => email.subject)).toEqual([
        "Maker would cost 15% less than your Solo trial",
        "Maker would cost 15% less than your Solo trial",
      ]);
      expect(mails[0]?.text).toContain("37.20 USD a month billed yearly (45.00 monthly)");
      expect(mails[0]?.text).toContain("your plan never changes unless you change it");
      expect(mails[0]?.text).toContain(`/usage?org=${saving.org.id}`);
      expect(mails[0]?.recipients).toContain(saving.owner.user.email);
      expect(await advice(spiking)).toEqual([]);
      expect(await advice(fitting)).toEqual([]);
    });
  },
  { env: { CATALOG_FILE: catalogFile } },
);
