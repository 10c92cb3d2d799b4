import { expect, it } from "vitest";
import { sha256Hex } from "../../src/domain/sha256.js";
import { rateLimits } from "../../src/http/rateLimits.js";
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

  it("a sign-in gives an HttpOnly device cookie for the sign-in route alone, stored only as its hash", async () => {
    const ann = await signUp(ctx.app);
    const login = await post("/v1/auth/login", { email: ann.user.email, password: "correct horse battery" });
    const device = login.cookies.find((cookie) => cookie.name === "meterline_device");
    expect(device).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/v1/auth/login" });
    expect(device?.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(device?.expires?.getTime()).toBeGreaterThan(Date.now() + 300 * 86_400_000);
    const rows = await ctx.db.kysely
      .selectFrom("device_cookies")
      .select(["id", "user_id"])
      .where("user_id", "=", ann.user.id)
      .execute();
    // One from signing up, one from this sign-in; the cookie's value itself is nowhere.
    expect(rows).toHaveLength(2);
    expect(rows.map((row) => row.id)).toContain(sha256Hex(device?.value ?? ""));
    expect(JSON.stringify(rows)).not.toContain(device?.value);
    // Signing in again with it gives no new one.
    const again = await ctx.app.inject({
      method: "POST",
      url: "/v1/auth/login",
      headers: { cookie: `meterline_device=${device?.value}` },
      payload: { email: ann.user.email, password: "correct horse battery" },
    });
    expect(again.statusCode).toBe(200);
    expect(again.cookies.find((cookie) => cookie.name === "meterline_device")).toBeUndefined();
  });

  it("changes the password: the current one is checked, the new one stored as scrypt, every other session ended, this one kept", async () => {
    const ann = await signUp(ctx.app);
    const email = ann.user.email;
    const other = await post("/v1/auth/login", { email, password: "correct horse battery" });
    const otherCookie = sessionCookieOf(other);
    const outsider = await signUp(ctx.app);
    const before = await ctx.db.kysely
      .selectFrom("users")
      .select("password_hash")
      .where("id", "=", ann.user.id)
      .executeTakeFirstOrThrow();

    const changed = await ann.request("POST", "/v1/auth/password", {
      current_password: "correct horse battery",
      new_password: "a brand new passphrase",
    });
    expect(changed.statusCode, changed.body).toBe(204);

    const after = await ctx.db.kysely
      .selectFrom("users")
      .select("password_hash")
      .where("id", "=", ann.user.id)
      .executeTakeFirstOrThrow();
    expect(after.password_hash).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(after.password_hash).not.toBe(before.password_hash);
    expect(after.password_hash).not.toContain("a brand new passphrase");
    expect((await ann.request("GET", "/v1/me")).statusCode).toBe(200);
    const otherMe = await ctx.app.inject({ method: "GET", url: "/v1/me", headers: { cookie: otherCookie } });
    expectError(otherMe, 401, "unauthenticated");
    expect((await outsider.request("GET", "/v1/me")).statusCode).toBe(200);
    expectError(
      await post("/v1/auth/login", { email, password: "correct horse battery" }),
      401,
      "invalid_credentials",
    );
    expect((await post("/v1/auth/login", { email, password: "a brand new passphrase" })).statusCode).toBe(
      200,
    );
  });

  it("forgets the browsers remembered for sign-in when the password changes or the user signs out everywhere", async () => {
    const ann = await signUp(ctx.app);
    const remembered = async () =>
      (
        await ctx.db.kysely
          .selectFrom("device_cookies")
          .select("id")
          .where("user_id", "=", ann.user.id)
          .execute()
      ).length;
    await post("/v1/auth/login", { email: ann.user.email, password: "correct horse battery" });
    expect(await remembered()).toBeGreaterThan(0);
    const changed = await ann.request("POST", "/v1/auth/password", {
      current_password: "correct horse battery",
      new_password: "a brand new passphrase",
    });
    expect(changed.statusCode, changed.body).toBe(204);
    expect(await remembered()).toBe(0);
    await post("/v1/auth/login", { email: ann.user.email, password: "a brand new passphrase" });
    expect(await remembered()).toBe(1);
    expect((await ann.request("POST", "/v1/auth/logout-all")).statusCode).toBe(204);
    expect(await remembered()).toBe(0);
  });

  it("refuses a password change with a wrong current password or a weak new one, changing nothing", async () => {
    const ann = await signUp(ctx.app);
    const other = sessionCookieOf(
      await post("/v1/auth/login", { email: ann.user.email, password: "correct horse battery" }),
    );
    const wrong = await ann.request("POST", "/v1/auth/password", {
      current_password: "not my password",
      new_password: "a brand new passphrase",
    });
    expect(expectError(wrong, 401, "invalid_credentials").message).toBe("The current password is incorrect");
    const short = await ann.request("POST", "/v1/auth/password", {
      current_password: "correct horse battery",
      new_password: "short",
    });
    expect(expectError(short, 400, "invalid_request").message).toContain("body.new_password");
    const me = await ctx.app.inject({ method: "GET", url: "/v1/me", headers: { cookie: other } });
    expect(me.statusCode).toBe(200);
    expect(
      (await post("/v1/auth/login", { email: ann.user.email, password: "correct horse battery" })).statusCode,
    ).toBe(200);
  });

  it("limits guesses of the current password like sign-ins: ten, then one a minute", async () => {
    const ann = await signUp(ctx.app);
    const guess = (current_password: string) =>
      ann.request("POST", "/v1/auth/password", { current_password, new_password: "a brand new passphrase" });
    for (let i = 0; i < rateLimits.passwordCheckPerUser.burst; i++) {
      expectError(await guess(`guess number ${i}`), 401, "invalid_credentials");
    }
    const held = await guess("correct horse battery");
    expect(expectError(held, 429, "rate_limited").message).toContain("password checks of this account");
    ctx.clock.offsetMs = 61_000;
    try {
      expect((await guess("correct horse battery")).statusCode).toBe(204);
    } finally {
      ctx.clock.offsetMs = 0;
    }
  });

  it("signs out everywhere: every session of the user ends, this one included, and no one else's", async () => {
    const ann = await signUp(ctx.app);
    const other = sessionCookieOf(
      await post("/v1/auth/login", { email: ann.user.email, password: "correct horse battery" }),
    );
    const bob = await signUp(ctx.app);
    const out = await ann.request("POST", "/v1/auth/logout-all");
    expect(out.statusCode).toBe(204);
    expect(out.cookies.find((cookie) => cookie.name === "meterline_session")?.value).toBe("");
    expectError(await ann.request("GET", "/v1/me"), 401, "unauthenticated");
    expectError(
      await ctx.app.inject({ method: "GET", url: "/v1/me", headers: { cookie: other } }),
      401,
      "unauthenticated",
    );
    expect((await bob.request("GET", "/v1/me")).statusCode).toBe(200);
    const sessions = await ctx.db.kysely
      .selectFrom("sessions")
      .select("id")
      .where("user_id", "=", ann.user.id)
      .execute();
    expect(sessions).toEqual([]);
  });
});
