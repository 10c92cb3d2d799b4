import type { Kysely } from "kysely";
import type { Schema } from "../src/db/schema.js";
import { createOrg } from "../src/services/accounts/createOrg.js";
import { signUp } from "../src/services/accounts/signUp.js";

/** A user owning `orgs` new organizations on the catalog's trial, through the services. */
export async function seedOrgs({
  db,
  orgs,
}: {
  db: Kysely<Schema>;
  orgs: number;
}): Promise<{ userId: string; orgIds: string[] }> {
  const now = new Date();
  const { user } = await signUp({
    db,
    email: `bench-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`,
    password: "benchmark-pass",
    name: "Bench",
    now,
  });
  const orgIds: string[] = [];
  for (let i = 0; i < orgs; i++) {
    const org = await createOrg({ db, owner: user, name: `Bench ${i}`, trialDays: 15, now });
    orgIds.push(org.id);
  }
  return { userId: user.id, orgIds };
}
