// Self-registration, offered while RegisterEnabled and PasswordRegisterEnabled are on.
import { useState } from "react";
import { Link, useLocation } from "wouter";
import { ErrorText, TextField } from "../components/ui";
import { api } from "../lib/api";
import { useAction } from "../lib/hooks";
import { useT } from "../lib/prefs";
import { useSession } from "../lib/session";

export function Register() {
  const t = useT();
  const { status } = useSession();
  const [, navigate] = useLocation();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [email, setEmail] = useState("");
  const { busy, error, setError, run } = useAction();
  const enabled = status?.register_enabled !== false && status?.password_register_enabled !== false;

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (password !== confirm) return setError(t("The passwords do not match"));
    const ok = await run(() => api.post("/api/user/register", { username, password, email }));
    if (ok) navigate("/login");
  };

  return (
    <main className="center">
      <form className="card narrow" onSubmit={submit} aria-label={t("Register")}>
        <h1>{t("Register")}</h1>
        {enabled ? (
          <>
            <TextField label={t("Username")} name="username" maxLength={20} value={username} onChange={setUsername} required />
            <TextField label={t("E-mail (optional)")} name="email" type="email" value={email} onChange={setEmail} />
            <TextField label={t("Password")} name="password" type="password" autoComplete="new-password" value={password} onChange={setPassword} required />
            <TextField label={t("Confirm password")} name="confirm" type="password" autoComplete="new-password" value={confirm} onChange={setConfirm} required />
            <ErrorText error={error} />
            <button type="submit" className="primary" disabled={busy}>
              {t("Create account")}
            </button>
          </>
        ) : (
          <p>{t("Registration is closed.")}</p>
        )}
        <p>
          <Link href="/login">{t("Back to sign in")}</Link>
        </p>
      </form>
    </main>
  );
}
