import type { OrgContext } from "./orgContext.js";

/** What a member sees instead of billing. */
export function NoBilling({ org }: { org: OrgContext }) {
  return (
    <section className="notice" role="status">
      <h1>Billing</h1>
      <p>
        Billing for {org.name} is visible to its owners, billing admins and admins. Ask an owner if you need
        access.
      </p>
    </section>
  );
}
