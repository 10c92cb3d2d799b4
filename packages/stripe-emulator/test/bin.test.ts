import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import Stripe from "stripe";
import { afterEach, describe, expect, it } from "vitest";

const bin = fileURLToPath(new URL("../bin/meterline-stripe-emulator.js", import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

let child: ChildProcess | null = null;

afterEach(async () => {
  if (child && child.exitCode === null) {
    child.kill("SIGTERM");
    await once(child, "exit");
  }
  child = null;
});

describe("meterline-stripe-emulator", () => {
  it("runs standalone: prints its URL and serves the official SDK until killed", async () => {
    const port = await freePort();
    child = spawn(process.execPath, [bin, "--port", String(port), "--api-key", "sk_test_bin"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const deadline = Date.now() + 20_000;
    while (!output.includes("\n") && Date.now() < deadline && child.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(output).toBe(`Stripe emulator listening at http://localhost:${port}\n`);

    const stripe = new Stripe("sk_test_bin", { host: "localhost", port, protocol: "http" });
    const customer = await stripe.customers.create({ email: "ada@example.com" });
    expect(customer.id).toMatch(/^cus_/);
    const product = await stripe.products.create({ name: "Pro" });
    const price = await stripe.prices.create({
      product: product.id,
      currency: "usd",
      unit_amount: 2900,
      recurring: { interval: "month" },
    });
    const session = await stripe.checkout.sessions.create({
      mode: "subscription",
      customer: customer.id,
      line_items: [{ price: price.id, quantity: 1 }],
      success_url: "https://app.example/ok",
    });
    expect(session.url?.startsWith(`http://localhost:${port}/`)).toBe(true);
    expect(session.status).toBe("open");

    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    expect(code).toBe(0);
  }, 30_000);

  it("refuses an unknown option, with its usage", async () => {
    child = spawn(process.execPath, [bin, "--prot", "1"], { stdio: ["ignore", "pipe", "pipe"] });
    let errors = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      errors += chunk.toString();
    });
    const [code] = await once(child, "exit");
    expect(code).toBe(2);
    expect(errors).toContain("Usage: meterline-stripe-emulator");
  }, 30_000);
});
