import { describe, expect, it } from "vitest";
import { plainText } from "./text.js";

const name = plainText({ max: 200 });
const message = plainText({ max: 5000, multiline: true });
const deviceId = plainText({ max: 256, trim: false });

describe("plainText", () => {
  it.each([
    { name: "a plain name", input: "Acme", asName: true, asMessage: true, asDeviceId: true },
    {
      name: "right-to-left script without controls",
      input: "شركة אקמה",
      asName: true,
      asMessage: true,
      asDeviceId: true,
    },
    { name: "an emoji", input: "Acme 🚀", asName: true, asMessage: true, asDeviceId: true },
    {
      name: "U+202A left-to-right embedding",
      input: "Acme\u202Ainc",
      asName: false,
      asMessage: false,
      asDeviceId: true,
    },
    {
      name: "U+202B right-to-left embedding",
      input: "Acme\u202Binc",
      asName: false,
      asMessage: false,
      asDeviceId: true,
    },
    {
      name: "U+202C pop directional formatting",
      input: "Acme\u202Cinc",
      asName: false,
      asMessage: false,
      asDeviceId: true,
    },
    {
      name: "U+202D left-to-right override",
      input: "Acme\u202Dinc",
      asName: false,
      asMessage: false,
      asDeviceId: true,
    },
    {
      name: "U+202E right-to-left override",
      input: "Acme\u202Eelgoog",
      asName: false,
      asMessage: false,
      asDeviceId: true,
    },
    {
      name: "U+2066 left-to-right isolate",
      input: "\u2066Acme",
      asName: false,
      asMessage: false,
      asDeviceId: true,
    },
    {
      name: "U+2067 right-to-left isolate",
      input: "\u2067Acme",
      asName: false,
      asMessage: false,
      asDeviceId: true,
    },
    {
      name: "U+2068 first strong isolate",
      input: "\u2068Acme",
      asName: false,
      asMessage: false,
      asDeviceId: true,
    },
    {
      name: "U+2069 pop directional isolate",
      input: "Acme\u2069",
      asName: false,
      asMessage: false,
      asDeviceId: true,
    },
    {
      name: "U+200E left-to-right mark",
      input: "Acme\u200E",
      asName: false,
      asMessage: false,
      asDeviceId: true,
    },
    {
      name: "U+200F right-to-left mark",
      input: "\u200FAcme",
      asName: false,
      asMessage: false,
      asDeviceId: true,
    },
    {
      name: "U+061C Arabic letter mark",
      input: "Acme\u061C",
      asName: false,
      asMessage: false,
      asDeviceId: true,
    },
    {
      name: "a zero-width joiner (not a control)",
      input: "👩\u200D💻",
      asName: true,
      asMessage: true,
      asDeviceId: true,
    },
    { name: "a NUL", input: "Acme\u0000", asName: false, asMessage: false, asDeviceId: false },
    { name: "a line break", input: "line\nbreak", asName: false, asMessage: true, asDeviceId: false },
    {
      name: "an unpaired surrogate",
      input: "Acme\ud800",
      asName: false,
      asMessage: false,
      asDeviceId: false,
    },
  ])("$name: as a name $asName, in a message $asMessage, as a device id $asDeviceId", (row) => {
    expect(name.safeParse(row.input).success).toBe(row.asName);
    expect(message.safeParse(row.input).success).toBe(row.asMessage);
    expect(deviceId.safeParse(row.input).success).toBe(row.asDeviceId);
  });

  it("says what it refuses in a name", () => {
    const result = name.safeParse("Acme\u202Eelgoog");
    expect(result.error?.issues[0]?.message).toBe(
      "must not contain control characters, bidirectional controls nor unpaired surrogates",
    );
  });

  it("trims a name but keeps a device id exactly as sent", () => {
    expect(name.parse("  Acme  ")).toBe("Acme");
    expect(deviceId.parse("  d-1  ")).toBe("  d-1  ");
  });
});
