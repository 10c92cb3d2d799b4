import { useState } from "react";
import { api } from "../api.js";
import { Messages } from "../Messages.js";

interface Confirmed {
  billing_email: string;
  org_name: string;
}

/**
 * Where the link sent to a new billing email leads; no sign-in, as the address may belong to no
 * one with an account. Confirming takes a click rather than the page load, so a mail scanner that
 * opens every link does not confirm an address on its owner's behalf.
 */
export function ConfirmBillingEmail({ url }: { url: URL }) {
  const token = url.searchParams.get("token") ?? "";
  const [confirmed, setConfirmed] = useState<Confirmed | null>(null);
  const [error, setError] = useState<string | null>(
    token ? null : "This link has no token: open the whole link from the email.",
  );
  const [busy, setBusy] = useState(false);
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      setConfirmed(await api<Confirmed>("POST", "/v1/billing-email/confirm", { token }));
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="auth">
      <h1>Confirm a billing email</h1>
      {confirmed ? (
        <Messages
          message={`${confirmed.billing_email} is now the billing email of ${confirmed.org_name}: its receipts and its usage, credit and payment emails come here too.`}
        />
      ) : (
        <>
          <p>
            An organization on Meterline set this address as its billing email. Confirm it to receive that
            organization's receipts and its usage, credit and payment emails; if you did not expect this,
            close this page and nothing more is sent.
          </p>
          <Messages error={error} />
          <button type="button" onClick={confirm} disabled={busy || !token}>
            Confirm this address
          </button>
        </>
      )}
    </main>
  );
}
