import { describe, expect, it } from "vitest";
import { plainText } from "./text.js";

const name = plainText({ max: 200 });
const message = plainText({ max: 5000, multiline: true });
const deviceId = plainText({ max: 256, trim: false });

const accepted = (input: string) => ({
  name: name.safeParse(input).success,
  message: message.safeParse(input).success,
  deviceId: deviceId.safeParse(input).success,
});

describe("plainText", () => {
  it.each([
    { name: "U+202A left-to-right embedding", input: "Acme\u202Ainc" },
    { name: "U+202B right-to-left embedding", input: "Acme\u202Binc" },
    { name: "U+202C pop directional formatting", input: "Acme\u202Cinc" },
    { name: "U+202D left-to-right override", input: "Acme\u202Dinc" },
    { name: "U+202E right-to-left override", input: "Acme\u202Eelgoog" },
    { name: "U+2066 left-to-right isolate", input: "\u2066Acme" },
    { name: "U+2067 right-to-left isolate", input: "\u2067Acme" },
    { name: "U+2068 first strong isolate", input: "\u2068Acme" },
    { name: "U+2069 pop directional isolate", input: "Acme\u2069" },
    { name: "U+200E left-to-right mark", input: "Acme\u200E" },
    { name: "U+200F right-to-left mark", input: "\u200FAcme" },
    { name: "U+061C Arabic letter mark", input: "Acme\u061C" },
  ])("$name: refused in a name and a message, kept in a device id", ({ input }) => {
    expect(accepted(input)).toEqual({ name: false, message: false, deviceId: true });
  });

  it.each([
    { name: "a plain name", input: "Acme", expected: { name: true, message: true, deviceId: true } },
    {
      name: "right-to-left script itself",
      input: "شركة אקמה",
      expected: { name: true, message: true, deviceId: true },
    },
    {
      name: "a zero-width joiner, which is not a control",
      input: "👩\u200D💻",
      expected: { name: true, message: true, deviceId: true },
    },
    { name: "a NUL", input: "Acme\u0000", expected: { name: false, message: false, deviceId: false } },
    { name: "a line break", input: "line\nbreak", expected: { name: false, message: true, deviceId: false } },
    {
      name: "an unpaired surrogate",
      input: "Acme\ud800",
      expected: { name: false, message: false, deviceId: false },
    },
  ])("$name", ({ input, expected }) => {
    expect(accepted(input)).toEqual(expected);
  });

  it("says what it refuses in a name", () => {
    expect(name.safeParse("Acme\u202Eelgoog").error?.issues[0]?.message).toBe(
      "must not contain control characters, bidirectional controls nor unpaired surrogates",
    );
  });

  it("trims a name but keeps a device id exactly as sent", () => {
    expect(name.parse("  Acme  ")).toBe("Acme");
    expect(deviceId.parse("  d-1  ")).toBe("  d-1  ");
  });
});
