import { EU_STANDARD_VAT_BASIS_POINTS as EMULATOR_RATES } from "@meterline/stripe-emulator";
import { describe, expect, it } from "vitest";
import { EU_STANDARD_VAT_BASIS_POINTS } from "../../src/domain/vatRates.js";

describe("VAT rates", () => {
  // Stripe Tax charges what Meterline's estimate shows; the emulator stands in for Stripe Tax.
  it("are the same in Meterline's estimate and in the emulator's tax engine", () => {
    expect(EMULATOR_RATES).toEqual(EU_STANDARD_VAT_BASIS_POINTS);
  });
});
