/**
 * The web console's pages for one organization: where emails link and where Stripe Checkout
 * and the billing portal send people back. Example: ("https://x.test", "org_1").plans is
 * "https://x.test/plans?org=org_1". The confirmation page of a billing email needs no sign-in
 * (the address may belong to no one with an account): its token says everything.
 */
export function consoleLinks(publicUrl: string, orgId: string) {
  const page = (name: string) => `${publicUrl}/${name}?org=${encodeURIComponent(orgId)}`;
  return {
    plans: page("plans"),
    credits: page("credits"),
    usage: page("usage"),
    confirmBillingEmail: (token: string) =>
      `${publicUrl}/confirm-billing-email?token=${encodeURIComponent(token)}`,
  };
}

export type ConsoleLinks = ReturnType<typeof consoleLinks>;
