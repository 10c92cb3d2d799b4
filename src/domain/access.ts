/**
 * Who may do what in an organization (SPEC §1). This table is the only place roles are
 * turned into permissions; routes ask `can()` through the one authorization function.
 */
export const roles = ["owner", "billing_admin", "admin", "member"] as const;
export type Role = (typeof roles)[number];

export const permissions = {
  /** See the organization's name and its members. */
  "org:read": ["owner", "billing_admin", "admin", "member"],
  /** See plans, credits, usage, invoices and the billing email. */
  "billing:read": ["owner", "billing_admin", "admin"],
  /** Change plan, buy credits, open the payment portal, edit billing details. */
  "billing:write": ["owner", "billing_admin"],
  /** Add members, change their roles, create and revoke API keys. */
  "members:write": ["owner", "admin"],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof permissions;

export function can(role: Role, permission: Permission): boolean {
  return (permissions[permission] as readonly Role[]).includes(role);
}

/**
 * A member manager may hand out, or take away, only a role whose every permission it holds
 * itself: an admin can make admins and members but not billing admins or owners, so no one
 * gains billing powers through a role they could not use.
 */
export function canAssignRole(actor: Role, target: Role): boolean {
  if (!can(actor, "members:write")) return false;
  return (Object.keys(permissions) as Permission[]).every(
    (permission) => !can(target, permission) || can(actor, permission),
  );
}

/** Scopes a service API key can carry. `admin` is for platform keys only. */
export const keyScopes = ["usage:write", "entitlements:read", "admin"] as const;
export type KeyScope = (typeof keyScopes)[number];
