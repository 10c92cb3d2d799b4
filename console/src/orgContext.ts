import type { Role } from "./api.js";

/** The organization a page shows, and the signed-in person's role in it. */
export interface OrgContext {
  id: string;
  name: string;
  role: Role;
}
