import { expect, it } from "vitest";
import { describeEachEngine, expectError, sessionCookieOf, signUp, uniqueEmail } from "../support/app.js";

describeEachEngine("auth routes", (ctx) => {
  const post = (url: string, payload: unknown) =>
    ctx.app.inject({ method: "POST", url, payload: payload as object });

  it("signs up, sets an HttpOnly SameSite session cookie and a readable CSRF cookie", async () => {
    const email = uniqueEmail();
    const response = await post("/v1/auth/signup", {
      email: email.toUpperCase(),
      password: "correct horse",
      name: "Ann",
    });
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body.user).toMatchObject({ email, name: "Ann" });
    expect(body.user.id).toMatch(/^usr_[0-9a-z]{26}$/);
    const session = response.cookies.find((cookie) => cookie.name === "meterline_session");
    const csrf = response.cookies.find((cookie) => cookie.name === "meterline_csrf");
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Lax", path: "/" });
    expect(csrf?.httpOnly).toBeFalsy();
    expect(csrf?.value).toBe(body.csrf_token);
  });

  it("stores a slow password hash, never the password", async () => {
    const email = uniqueEmail();
    await post("/v1/auth/signup", { email, password: "correct horse", name: "Ann" });
    const row = await ctx.db.kysely
      .selectFrom("users")
      .select("password_hash")
      .where("email", "=", email)
      .executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(row.password_hash).not.toContain("correct horse");
  });

  it.each([
    ["a malformed email", { email: "not-an-email", password: "correct horse", name: "A" }, "body.email"],
    ["a short password", { email: "ok@example.com", password: "short", name: "A" }, "body.password"],
    [
      "an extra field",
      { email: "ok@example.com", password: "correct horse", name: "A", admin: true },
      "body.admin: unknown field",
    ],
    ["a missing name", { email: "ok@example.com", password: "correct horse" }, "body.name"],
    [
      "a NUL byte in the name",
      { email: "ok@example.com", password: "correct horse", name: "A\u0000B" },
      "body.name",
    ],
    ["a wrong type", { email: "ok@example.com", password: 1234567890123, name: "A" }, "body.password"],
  ])("rejects signup with %s, naming the field, storing nothing", async (_label, payload, field) => {
    const before = await ctx.db.kysely
      .selectFrom("users")
      .select(({ fn }) => fn.countAll().as("n"))
      .executeTakeFirstOrThrow();
    const error = expectError(await post("/v1/auth/signup", payload), 400, "invalid_request");
    expect(error.message).toContain(field);
    const after = await ctx.db.kysely
      .selectFrom("users")
      .select(({ fn }) => fn.countAll().as("n"))
      .executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
  });

  it("refuses a second account with the same email, whatever its case", async () => {
    const email = uniqueEmail();
    await post("/v1/auth/signup", { email, password: "correct horse", name: "Ann" });
    const again = await post("/v1/auth/signup", {
      email: email.toUpperCase(),
      password: "other password",
      name: "Bob",
    });
    expectError(again, 409, "email_taken");
  });

  it("logs in with the right password only, and the same answer for an unknown email", async () => {
    const email = uniqueEmail();
    await post("/v1/auth/signup", { email, password: "correct horse", name: "Ann" });
    const ok = await post("/v1/auth/login", { email, password: "correct horse" });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().user.email).toBe(email);
    const wrong = expectError(
      await post("/v1/auth/login", { email, password: "wrong horse" }),
      401,
      "invalid_credentials",
    );
    const unknown = expectError(
      await post("/v1/auth/login", { email: uniqueEmail(), password: "correct horse" }),
      401,
      "invalid_credentials",
    );
    expect(unknown.message).toBe(wrong.message);
    expectError(await post("/v1/auth/login", { email }), 400, "invalid_request");
  });

  it("GET /v1/me answers the signed-in user and 401 without a session", async () => {
    const ann = await signUp(ctx.app, { name: "Ann" });
    const me = await ann.request("GET", "/v1/me");
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ user: ann.user, orgs: [], csrf_token: ann.csrfToken });
    expectError(await ctx.app.inject({ method: "GET", url: "/v1/me" }), 401, "unauthenticated");
    expectError(
      await ctx.app.inject({ method: "GET", url: "/v1/me", headers: { cookie: "meterline_session=forged" } }),
      401,
      "unauthenticated",
    );
  });

  it("requires the session's CSRF token on cookie-authenticated writes", async () => {
    const ann = await signUp(ctx.app);
    const missing = await ctx.app.inject({
      method: "POST",
      url: "/v1/orgs",
      headers: { cookie: ann.cookie },
      payload: { name: "Acme" },
    });
    expectError(missing, 403, "csrf_failed");
    const other = await signUp(ctx.app);
    const wrong = await ann.request(
      "POST",
      "/v1/orgs",
      { name: "Acme" },
      { "x-csrf-token": other.csrfToken },
    );
    expectError(wrong, 403, "csrf_failed");
    const me = await ann.request("GET", "/v1/me");
    expect(me.json().orgs).toEqual([]);
  });

  it("logout ends the session for good", async () => {
    const ann = await signUp(ctx.app);
    const out = await ann.request("POST", "/v1/auth/logout");
    expect(out.statusCode).toBe(204);
    expect(out.cookies.find((cookie) => cookie.name === "meterline_session")?.value).toBe("");
    expectError(await ann.request("GET", "/v1/me"), 401, "unauthenticated");
    expectError(await ctx.app.inject({ method: "POST", url: "/v1/auth/logout" }), 401, "unauthenticated");
  });

  it("a login makes a session of its own", async () => {
    const email = uniqueEmail();
    await post("/v1/auth/signup", { email, password: "correct horse", name: "Ann" });
    const login = await post("/v1/auth/login", { email, password: "correct horse" });
    const me = await ctx.app.inject({
      method: "GET",
      url: "/v1/me",
      headers: { cookie: sessionCookieOf(login) },
    });
    expect(me.json().user.email).toBe(email);
  });
});
