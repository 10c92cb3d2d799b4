import { expect, it } from "vitest";
import { sha256Hex } from "../../src/domain/sha256.js";
import { describeEachEngine, expectError, makeTeam } from "../support/app.js";

describeEachEngine("API key routes", (ctx) => {
  it("creates a key shown once, stores only its hash, and lists it without the secret", async () => {
    const team = await makeTeam(ctx.app);
    const url = `/v1/orgs/${team.org.id}/api-keys`;
    const created = await team.admin.request("POST", url, {
      name: "backend",
      scopes: ["usage:write", "entitlements:read"],
    });
    expect(created.statusCode).toBe(201);
    const key = created.json();
    expect(key).toMatchObject({
      name: "backend",
      org_id: team.org.id,
      scopes: ["entitlements:read", "usage:write"],
    });
    expect(key.key).toMatch(/^ml_[A-Za-z0-9_-]{43}$/);
    expect(key.key.startsWith(key.key_prefix)).toBe(true);
    const row = await ctx.db.kysely
      .selectFrom("api_keys")
      .selectAll()
      .where("id", "=", key.id)
      .executeTakeFirstOrThrow();
    expect(row.key_hash).toBe(sha256Hex(key.key));
    expect(JSON.stringify(row)).not.toContain(key.key);
    const list = await team.owner.request("GET", url);
    expect(list.statusCode).toBe(200);
    expect(list.json().items).toHaveLength(1);
    expect(list.body).not.toContain(key.key);
  });

  it("rejects unknown scopes, the platform-only admin scope and empty scope lists", async () => {
    const team = await makeTeam(ctx.app);
    const url = `/v1/orgs/${team.org.id}/api-keys`;
    for (const scopes of [["usage:read"], ["admin"], []]) {
      const error = expectError(
        await team.owner.request("POST", url, { name: "k", scopes }),
        400,
        "invalid_request",
      );
      expect(error.message).toContain("body.scopes");
    }
    expect((await team.owner.request("GET", url)).json().items).toEqual([]);
  });

  it("only owners and admins manage keys; others 403, outsiders 404", async () => {
    const team = await makeTeam(ctx.app);
    const url = `/v1/orgs/${team.org.id}/api-keys`;
    const body = { name: "k", scopes: ["usage:write"] };
    expectError(await team.member.request("POST", url, body), 403, "forbidden");
    expectError(await team.billing_admin.request("POST", url, body), 403, "forbidden");
    expectError(await team.member.request("GET", url), 403, "forbidden");
    expectError(await team.outsider.request("POST", url, body), 404, "not_found");
    expectError(await team.outsider.request("GET", url), 404, "not_found");
    expectError(await ctx.app.inject({ method: "POST", url, payload: body }), 401, "unauthenticated");
  });

  it("revokes a key once and for all; another org cannot revoke it", async () => {
    const team = await makeTeam(ctx.app);
    const created = (
      await team.owner.request("POST", `/v1/orgs/${team.org.id}/api-keys`, {
        name: "k",
        scopes: ["usage:write"],
      })
    ).json();
    const foreign = await team.outsider.request(
      "DELETE",
      `/v1/orgs/${team.otherOrg.id}/api-keys/${created.id}`,
    );
    expectError(foreign, 404, "not_found");
    const revoked = await team.admin.request("DELETE", `/v1/orgs/${team.org.id}/api-keys/${created.id}`);
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json().revoked_at).not.toBeNull();
    const again = await team.owner.request("DELETE", `/v1/orgs/${team.org.id}/api-keys/${created.id}`);
    expect(again.json().revoked_at).toBe(revoked.json().revoked_at);
  });

  it("stops honouring a revoked key at once, though it was just used", async () => {
    const team = await makeTeam(ctx.app);
    const created = (
      await team.owner.request("POST", `/v1/orgs/${team.org.id}/api-keys`, {
        name: "k",
        scopes: ["entitlements:read"],
      })
    ).json();
    const check = () =>
      ctx.app.inject({
        method: "POST",
        url: "/v1/check",
        headers: { authorization: `Bearer ${created.key}` },
        payload: { org_id: team.org.id, action: "serve_update" },
      });
    expect((await check()).statusCode).toBe(200);
    await team.owner.request("DELETE", `/v1/orgs/${team.org.id}/api-keys/${created.id}`);
    const revokedAt = Date.now();
    let status = (await check()).statusCode;
    while (status === 200 && Date.now() - revokedAt < 1000) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      status = (await check()).statusCode;
    }
    expect(status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(1000);
  });

  it("takes the Authorization scheme in any case, and nothing but Bearer", async () => {
    const team = await makeTeam(ctx.app);
    const created = (
      await team.owner.request("POST", `/v1/orgs/${team.org.id}/api-keys`, {
        name: "k",
        scopes: ["entitlements:read"],
      })
    ).json();
    const check = (authorization: string) =>
      ctx.app.inject({
        method: "POST",
        url: "/v1/check",
        headers: { authorization },
        payload: { org_id: team.org.id, action: "serve_update" },
      });
    for (const scheme of ["Bearer", "bearer", "BEARER", "bEaReR"]) {
      const response = await check(`${scheme} ${created.key}`);
      expect(response.statusCode, `${scheme}: ${response.body}`).toBe(200);
    }
    for (const refused of [`Basic ${created.key}`, `Bearer${created.key}`, created.key]) {
      expectError(await check(refused), 401, "unauthenticated");
    }
  });
});
