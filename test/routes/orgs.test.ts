import { expect, it } from "vitest";
import { describeEachEngine, expectError, makeOrg, makeTeam, signUp } from "../support/app.js";

describeEachEngine("organization routes", (ctx) => {
  it("creates an org with its creator as owner, billing email defaulting to theirs", async () => {
    const ann = await signUp(ctx.app);
    const created = await ann.request("POST", "/v1/orgs", { name: "  Acme  ", country: "fr" });
    expect(created.statusCode).toBe(201);
    const org = created.json();
    expect(org).toMatchObject({ name: "Acme", billing_email: ann.user.email, country: "FR", role: "owner" });
    expect(org.id).toMatch(/^org_/);
    const me = await ann.request("GET", "/v1/me");
    expect(me.json().orgs).toEqual([{ id: org.id, name: "Acme", role: "owner" }]);
    const read = await ann.request("GET", `/v1/orgs/${org.id}`);
    expect(read.json()).toEqual(org);
  });

  it.each([
    ["an empty name", { name: "" }, "body.name"],
    ["a bad billing email", { name: "Acme", billing_email: "nope" }, "body.billing_email"],
    ["a bad country", { name: "Acme", country: "France" }, "body.country"],
    ["an unknown field", { name: "Acme", plan: "team" }, "body.plan: unknown field"],
  ])("rejects %s, naming the field", async (_label, payload, field) => {
    const ann = await signUp(ctx.app);
    const error = expectError(await ann.request("POST", "/v1/orgs", payload), 400, "invalid_request");
    expect(error.message).toContain(field);
    expect((await ann.request("GET", "/v1/me")).json().orgs).toEqual([]);
  });

  it("refuses names with bidirectional controls, which make them display as something else, naming the field and storing nothing", async () => {
    const team = await makeTeam(ctx.app);
    const keys = () =>
      team.owner.request("GET", `/v1/orgs/${team.org.id}/api-keys`).then((r) => r.json().items);
    const cases = [
      [
        "an organization's name",
        () => team.owner.request("POST", "/v1/orgs", { name: "Acme\u202Eelgoog" }),
        "body.name",
      ],
      [
        "a new name",
        () => team.owner.request("PATCH", `/v1/orgs/${team.org.id}`, { name: "\u2067Acme" }),
        "body.name",
      ],
      [
        "an API key's name",
        () =>
          team.owner.request("POST", `/v1/orgs/${team.org.id}/api-keys`, {
            name: "deploy\u202Egpj.exe",
            scopes: ["usage:write"],
          }),
        "body.name",
      ],
      [
        "a person's name",
        () =>
          ctx.app.inject({
            method: "POST",
            url: "/v1/auth/signup",
            remoteAddress: "192.0.2.77",
            payload: { email: "bidi@example.com", password: "correct horse battery", name: "Support\u200F" },
          }),
        "body.name",
      ],
      [
        "a custom-plan request",
        () => team.owner.request("POST", `/v1/orgs/${team.org.id}/contact-sales`, { message: "Hi\u061C" }),
        "body.message",
      ],
    ] as const;
    for (const [what, send, field] of cases) {
      const error = expectError(await send(), 400, "invalid_request");
      expect(error.message, what).toBe(
        field === "body.message"
          ? `${field}: must not contain control characters other than tabs and line breaks, bidirectional controls nor unpaired surrogates`
          : `${field}: must not contain control characters, bidirectional controls nor unpaired surrogates`,
      );
    }
    const me = (await team.owner.request("GET", "/v1/me")).json();
    expect(me.orgs.map((org: { name: string }) => org.name)).toEqual(["Acme"]);
    expect(await keys()).toEqual([]);
    const signIn = await ctx.app.inject({
      method: "POST",
      url: "/v1/auth/login",
      remoteAddress: "192.0.2.78",
      payload: { email: "bidi@example.com", password: "correct horse battery" },
    });
    expectError(signIn, 401, "invalid_credentials");
    // Right-to-left names themselves are welcome.
    expect(
      (await team.owner.request("PATCH", `/v1/orgs/${team.org.id}`, { name: "شركة أكمي" })).json().name,
    ).toBe("شركة أكمي");
  });

  it("needs a session", async () => {
    expectError(
      await ctx.app.inject({ method: "POST", url: "/v1/orgs", payload: { name: "Acme" } }),
      401,
      "unauthenticated",
    );
    expectError(await ctx.app.inject({ method: "GET", url: "/v1/orgs/org_x" }), 401, "unauthenticated");
  });

  it("lets every member read the org but only billing roles see the billing email", async () => {
    const team = await makeTeam(ctx.app);
    for (const [who, sees] of [
      ["owner", true],
      ["billing_admin", true],
      ["admin", true],
      ["member", false],
    ] as const) {
      const response = await team[who].request("GET", `/v1/orgs/${team.org.id}`);
      expect(response.statusCode, who).toBe(200);
      expect(response.json().role).toBe(who);
      expect(response.json().billing_email, who).toBe(sees ? team.owner.user.email : null);
      expect(response.json().billing_email_confirmed, who).toBe(sees ? true : null);
    }
  });

  it("answers 404 for another org's id and for ids that do not exist", async () => {
    const team = await makeTeam(ctx.app);
    expectError(await team.outsider.request("GET", `/v1/orgs/${team.org.id}`), 404, "not_found");
    expectError(await team.owner.request("GET", `/v1/orgs/${team.otherOrg.id}`), 404, "not_found");
    expectError(await team.owner.request("GET", "/v1/orgs/org_doesnotexist"), 404, "not_found");
    const odd = expectError(await team.owner.request("GET", "/v1/orgs/%00"), 400, "invalid_request");
    expect(odd.message).toContain("params.org");
  });

  it("lets owners and billing admins edit billing details; others get 403, outsiders 404", async () => {
    const team = await makeTeam(ctx.app);
    const url = `/v1/orgs/${team.org.id}`;
    const edit = await team.billing_admin.request("PATCH", url, {
      billing_email: "Billing@Acme.test",
      country: "de",
    });
    expect(edit.statusCode).toBe(200);
    expect(edit.json()).toMatchObject({ billing_email: "billing@acme.test", country: "DE" });
    expectError(await team.admin.request("PATCH", url, { country: "FR" }), 403, "forbidden");
    expectError(await team.member.request("PATCH", url, { country: "FR" }), 403, "forbidden");
    expectError(await team.outsider.request("PATCH", url, { country: "FR" }), 404, "not_found");
    expectError(await team.owner.request("PATCH", url, { country: "Germany" }), 400, "invalid_request");
    const read = await team.owner.request("GET", url);
    expect(read.json()).toMatchObject({ billing_email: "billing@acme.test", country: "DE" });
    const cleared = await team.owner.request("PATCH", url, { country: null });
    expect(cleared.json().country).toBeNull();
  });
});

describeEachEngine("member routes", (ctx) => {
  it("adds an existing user with a role; repeating the request changes nothing", async () => {
    const ann = await signUp(ctx.app);
    const org = await makeOrg(ann);
    const bob = await signUp(ctx.app, { name: "Bob" });
    const url = `/v1/orgs/${org.id}/members`;
    const added = await ann.request("POST", url, { email: bob.user.email.toUpperCase(), role: "admin" });
    expect(added.statusCode).toBe(200);
    expect(added.json()).toMatchObject({ user_id: bob.user.id, email: bob.user.email, role: "admin" });
    await ann.request("POST", url, { email: bob.user.email, role: "admin" });
    const list = await bob.request("GET", url);
    expect(list.json().items.map((m: { email: string; role: string }) => [m.email, m.role])).toEqual([
      [ann.user.email, "owner"],
      [bob.user.email, "admin"],
    ]);
    const bobsOrgs = await bob.request("GET", "/v1/me");
    expect(bobsOrgs.json().orgs).toEqual([{ id: org.id, name: org.name, role: "admin" }]);
  });

  it("says who must sign up first when the email has no account", async () => {
    const ann = await signUp(ctx.app);
    const org = await makeOrg(ann);
    const error = expectError(
      await ann.request("POST", `/v1/orgs/${org.id}/members`, {
        email: "nobody@example.com",
        role: "member",
      }),
      404,
      "not_found",
    );
    expect(error.message).toContain("sign up");
  });

  it("rejects bad input naming the field", async () => {
    const ann = await signUp(ctx.app);
    const org = await makeOrg(ann);
    const url = `/v1/orgs/${org.id}/members`;
    expect(
      expectError(await ann.request("POST", url, { email: "x", role: "member" }), 400, "invalid_request")
        .message,
    ).toContain("body.email");
    expect(
      expectError(await ann.request("POST", url, { email: "a@b.co", role: "king" }), 400, "invalid_request")
        .message,
    ).toContain("body.role");
  });

  it("enforces roles: members and billing admins cannot add people, admins cannot make owners", async () => {
    const team = await makeTeam(ctx.app);
    const newcomer = await signUp(ctx.app);
    const url = `/v1/orgs/${team.org.id}/members`;
    const body = { email: newcomer.user.email, role: "member" };
    expectError(await team.member.request("POST", url, body), 403, "forbidden");
    expectError(await team.billing_admin.request("POST", url, body), 403, "forbidden");
    expectError(await team.admin.request("POST", url, { ...body, role: "owner" }), 403, "forbidden");
    expectError(
      await team.admin.request("POST", url, { email: team.owner.user.email, role: "member" }),
      403,
      "forbidden",
    );
    // No one gains billing powers through an admin: not the admin itself, not a friend.
    expectError(
      await team.admin.request("POST", url, { email: team.admin.user.email, role: "billing_admin" }),
      403,
      "forbidden",
    );
    expectError(await team.admin.request("POST", url, { ...body, role: "billing_admin" }), 403, "forbidden");
    expectError(
      await team.admin.request("POST", url, { email: team.billing_admin.user.email, role: "member" }),
      403,
      "forbidden",
    );
    expectError(
      await team.admin.request("PATCH", `/v1/orgs/${team.org.id}`, { country: "FR" }),
      403,
      "forbidden",
    );
    expectError(await team.outsider.request("POST", url, body), 404, "not_found");
    expectError(await team.outsider.request("GET", url), 404, "not_found");
    expect((await team.admin.request("POST", url, body)).statusCode).toBe(200);
    expect((await newcomer.request("GET", `/v1/orgs/${team.org.id}`)).json().role).toBe("member");
  });

  it("never leaves an organization without an owner", async () => {
    const ann = await signUp(ctx.app);
    const org = await makeOrg(ann);
    const url = `/v1/orgs/${org.id}/members`;
    expectError(await ann.request("POST", url, { email: ann.user.email, role: "admin" }), 409, "last_owner");
    const bob = await signUp(ctx.app);
    await ann.request("POST", url, { email: bob.user.email, role: "owner" });
    const stepDown = await ann.request("POST", url, { email: ann.user.email, role: "billing_admin" });
    expect(stepDown.statusCode).toBe(200);
    expectError(await bob.request("POST", url, { email: bob.user.email, role: "member" }), 409, "last_owner");
  });
});
