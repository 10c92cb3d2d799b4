import { describe, expect, it } from "vitest";
import { can, canAssignRole, type Permission, type Role } from "./access.js";

describe("permissions (SPEC §1)", () => {
  const table: { role: Role; allowed: Permission[] }[] = [
    { role: "owner", allowed: ["org:read", "billing:read", "billing:write", "members:write"] },
    { role: "billing_admin", allowed: ["org:read", "billing:read", "billing:write"] },
    { role: "admin", allowed: ["org:read", "billing:read", "members:write"] },
    { role: "member", allowed: ["org:read"] },
  ];
  const all: Permission[] = ["org:read", "billing:read", "billing:write", "members:write"];

  for (const { role, allowed } of table) {
    for (const permission of all) {
      const expected = allowed.includes(permission);
      it(`${role} ${expected ? "may" : "may not"} ${permission}`, () => {
        expect(can(role, permission)).toBe(expected);
      });
    }
  }

  it.each([
    { actor: "owner", target: "owner", expected: true },
    { actor: "owner", target: "member", expected: true },
    { actor: "owner", target: "billing_admin", expected: true },
    { actor: "admin", target: "admin", expected: true },
    { actor: "admin", target: "member", expected: true },
    { actor: "admin", target: "billing_admin", expected: false },
    { actor: "admin", target: "owner", expected: false },
    { actor: "billing_admin", target: "member", expected: false },
    { actor: "member", target: "member", expected: false },
  ] as const)("$actor assigning $target: $expected", ({ actor, target, expected }) => {
    expect(canAssignRole(actor, target)).toBe(expected);
  });
});
