import { useCallback, useEffect, useState } from "react";
import { useAddress } from "./address.js";
import { ApiError, api, type Me } from "./api.js";
import type { OrgContext } from "./orgContext.js";
import { Account } from "./pages/Account.js";
import { CreateOrg, SignIn, SignUp } from "./pages/Auth.js";
import { ConfirmBillingEmail } from "./pages/ConfirmBillingEmail.js";
import { Credits } from "./pages/Credits.js";
import { Plans } from "./pages/Plans.js";
import { RefundPolicy } from "./pages/RefundPolicy.js";
import { Usage } from "./pages/Usage.js";

const pages = { "/plans": "Plans", "/credits": "Credits", "/usage": "Usage" } as const;
type PagePath = keyof typeof pages;

/** Pages anyone may open, signed in or not. */
const publicPages = ["/signin", "/signup", "/refund-policy", "/confirm-billing-email"];

export function App() {
  const [url, navigate] = useAddress();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const loadMe = useCallback(async () => {
    try {
      setMe(await api<Me>("GET", "/v1/me"));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) setMe(null);
      else throw error;
    }
  }, []);
  useEffect(() => {
    void loadMe();
  }, [loadMe]);

  const path = url.pathname;
  useEffect(() => {
    if (me === null && !publicPages.includes(path)) {
      navigate(`/signin?next=${encodeURIComponent(url.pathname + url.search)}`);
    } else if (me && (path === "/signin" || path === "/signup" || path === "/")) {
      const next = url.searchParams.get("next");
      navigate(next?.startsWith("/") ? next : "/plans");
    }
  }, [me, path, url, navigate]);

  if (path === "/refund-policy") return <RefundPolicy />;
  if (path === "/confirm-billing-email") return <ConfirmBillingEmail url={url} />;
  if (me === undefined) return <p className="loading">Loading…</p>;
  if (me === null) {
    return path === "/signup" ? (
      <SignUp onDone={loadMe} navigate={navigate} />
    ) : (
      <SignIn onDone={loadMe} navigate={navigate} />
    );
  }
  if (me.orgs.length === 0) return <CreateOrg onDone={loadMe} />;

  const wanted = url.searchParams.get("org");
  const first = me.orgs[0] as Me["orgs"][number];
  const org: OrgContext = me.orgs.find((candidate) => candidate.id === wanted) ?? first;
  const onAccount = path === "/account";
  const page: PagePath = path in pages ? (path as PagePath) : "/plans";
  const link = (to: PagePath | "/account") => `${to}?org=${encodeURIComponent(org.id)}`;

  const signedOut = () => {
    setMe(null);
    navigate("/signin");
  };
  const signOut = async () => {
    await api("POST", "/v1/auth/logout");
    signedOut();
  };

  return (
    <>
      <header className="top">
        <span className="brand">Meterline</span>
        <label className="switcher">
          <span className="visually-hidden">Organization</span>
          <select
            aria-label="Organization"
            value={org.id}
            onChange={(event) =>
              navigate(`${onAccount ? "/account" : page}?org=${encodeURIComponent(event.target.value)}`)
            }
          >
            {me.orgs.map((candidate) => (
              <option key={candidate.id} value={candidate.id}>
                {candidate.name}
              </option>
            ))}
          </select>
        </label>
        <nav aria-label="Billing">
          {(Object.keys(pages) as PagePath[]).map((to) => (
            <a
              key={to}
              href={link(to)}
              aria-current={to === page && !onAccount ? "page" : undefined}
              onClick={(event) => {
                event.preventDefault();
                navigate(link(to));
              }}
            >
              {pages[to]}
            </a>
          ))}
        </nav>
        <span className="who">
          {me.user.email}{" "}
          <a
            href={link("/account")}
            aria-current={onAccount ? "page" : undefined}
            onClick={(event) => {
              event.preventDefault();
              navigate(link("/account"));
            }}
          >
            Account
          </a>{" "}
          <button type="button" className="link" onClick={signOut}>
            Sign out
          </button>
        </span>
      </header>
      <main>
        {onAccount && <Account me={me} onSignedOut={signedOut} />}
        {!onAccount && page === "/plans" && <Plans key={org.id} org={org} url={url} navigate={navigate} />}
        {!onAccount && page === "/credits" && (
          <Credits key={org.id} org={org} url={url} navigate={navigate} />
        )}
        {!onAccount && page === "/usage" && <Usage key={org.id} org={org} />}
      </main>
    </>
  );
}
