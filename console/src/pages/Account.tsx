import { type FormEvent, useState } from "react";
import type { Me } from "../api.js";
import { api } from "../api.js";
import { Messages } from "../Messages.js";

/** The signed-in person's own account: their password, and their sessions on every browser. */
export function Account({ me, onSignedOut }: { me: Me; onSignedOut: () => void }) {
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setMessage(null);
    setError(null);
    try {
      await work();
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    } finally {
      setBusy(false);
    }
  };

  const changePassword = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const fields = new FormData(form);
    void run(async () => {
      if (fields.get("new_password") !== fields.get("confirm_password")) {
        throw new Error("The new password and its confirmation differ.");
      }
      await api("POST", "/v1/auth/password", {
        current_password: fields.get("current_password"),
        new_password: fields.get("new_password"),
      });
      form.reset();
      setMessage("Password changed. Every other browser signed in to your account has been signed out.");
    });
  };

  const signOutEverywhere = () =>
    run(async () => {
      await api("POST", "/v1/auth/logout-all");
      onSignedOut();
    });

  return (
    <>
      <h1>Account</h1>
      <p>
        Signed in as {me.user.name} ({me.user.email}).
      </p>
      <Messages message={message} error={error} />
      <section className="account" aria-labelledby="password-heading">
        <h2 id="password-heading">Change password</h2>
        <form onSubmit={changePassword}>
          <label>
            Current password
            <input name="current_password" type="password" autoComplete="current-password" required />
          </label>
          <label>
            New password
            <input name="new_password" type="password" autoComplete="new-password" minLength={10} required />
          </label>
          <label>
            Confirm new password
            <input
              name="confirm_password"
              type="password"
              autoComplete="new-password"
              minLength={10}
              required
            />
          </label>
          <button type="submit" disabled={busy}>
            Change password
          </button>
        </form>
      </section>
      <section className="account" aria-labelledby="sessions-heading">
        <h2 id="sessions-heading">Sign out everywhere</h2>
        <p>Ends your session on every browser and device, this one included. You then sign in again.</p>
        <button type="button" className="secondary" disabled={busy} onClick={signOutEverywhere}>
          Sign out everywhere
        </button>
      </section>
    </>
  );
}
