import { describe, expect, it } from "vitest";
import { newId } from "./ids.js";

describe("newId", () => {
  it("is prefixed by kind and 26 lower-case base32 characters", () => {
    expect(newId("org")).toMatch(/^org_[0-9a-hjkmnp-tv-z]{26}$/);
  });

  it("sorts by creation time", () => {
    const ids = [newId("usr", 1_000), newId("usr", 2_000), newId("usr", 1_700_000_000_000)];
    expect([...ids].sort()).toEqual(ids);
  });

  it("does not repeat within the same millisecond, and keeps the order of creation", () => {
    const ids = Array.from({ length: 10_000 }, () => newId("key", 42));
    expect(new Set(ids).size).toBe(10_000);
    expect([...ids].sort()).toEqual(ids);
  });
});
