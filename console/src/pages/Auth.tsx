import { type FormEvent, useState } from "react";
import type { Navigate } from "../address.js";
import { api } from "../api.js";
import { Messages } from "../Messages.js";

function useSubmit(work: (form: FormData) => Promise<void>) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await work(new FormData(event.currentTarget));
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, onSubmit };
}

export function SignIn({ onDone, navigate }: { onDone: () => Promise<void>; navigate: Navigate }) {
  const { error, busy, onSubmit } = useSubmit(async (form) => {
    await api("POST", "/v1/auth/login", { email: form.get("email"), password: form.get("password") });
    await onDone();
  });
  return (
    <main className="auth">
      <h1>Sign in to Meterline</h1>
      <form onSubmit={onSubmit}>
        <label>
          Email
          <input name="email" type="email" autoComplete="email" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        <Messages error={error} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      <p>
        New here?{" "}
        <a
          href="/signup"
          onClick={(event) => {
            event.preventDefault();
            navigate("/signup");
          }}
        >
          Create an account
        </a>
      </p>
    </main>
  );
}

export function SignUp({ onDone, navigate }: { onDone: () => Promise<void>; navigate: Navigate }) {
  const { error, busy, onSubmit } = useSubmit(async (form) => {
    await api("POST", "/v1/auth/signup", {
      name: form.get("name"),
      email: form.get("email"),
      password: form.get("password"),
    });
    await onDone();
  });
  return (
    <main className="auth">
      <h1>Create your Meterline account</h1>
      <form onSubmit={onSubmit}>
        <label>
          Name
          <input name="name" autoComplete="name" required />
        </label>
        <label>
          Email
          <input name="email" type="email" autoComplete="email" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="new-password" minLength={10} required />
        </label>
        <Messages error={error} />
        <button type="submit" disabled={busy}>
          Create account
        </button>
      </form>
      <p>
        Have an account?{" "}
        <a
          href="/signin"
          onClick={(event) => {
            event.preventDefault();
            navigate("/signin");
          }}
        >
          Sign in
        </a>
      </p>
    </main>
  );
}

export function CreateOrg({ onDone }: { onDone: () => Promise<void> }) {
  const { error, busy, onSubmit } = useSubmit(async (form) => {
    const country = String(form.get("country") ?? "")
      .trim()
      .toUpperCase();
    await api("POST", "/v1/orgs", { name: form.get("name"), ...(country ? { country } : {}) });
    await onDone();
  });
  return (
    <main className="auth">
      <h1>Create your organization</h1>
      <p>Plans, credits and usage belong to an organization. A new one starts on a free trial.</p>
      <form onSubmit={onSubmit}>
        <label>
          Organization name
          <input name="name" required />
        </label>
        <label>
          Billing country (two letters, e.g. FR)
          <input name="country" maxLength={2} pattern="[A-Za-z]{2}" />
        </label>
        <Messages error={error} />
        <button type="submit" disabled={busy}>
          Create organization
        </button>
      </form>
    </main>
  );
}
