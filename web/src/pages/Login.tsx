// Password sign-in (sets the session cookie) and, when the provider is on, OIDC single sign-on.
import { useState } from "react";
import { Link, useLocation } from "wouter";
import { ErrorText, TextField } from "../components/ui";
import { api } from "../lib/api";
import { useAction } from "../lib/hooks";
import { usePrefs } from "../lib/prefs";
import { useSession } from "../lib/session";

export function Login() {
  const { t, lang, setLang } = usePrefs();
  const { status, signedIn } = useSession();
  const [, navigate] = useLocation();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const { busy, error, run } = useAction();
  const passwordLogin = status?.password_login_enabled !== false;
  const canRegister = status?.register_enabled !== false && status?.password_register_enabled !== false;

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    let id = 0;
    const ok = await run(async () => {
      const user = await api.post<{ id: number }>("/api/user/login", { username, password });
      id = user.id;
    });
    if (ok) {
      await signedIn(id);
      navigate("/");
    }
  };

  return (
    <main className="center">
      <form className="card narrow" onSubmit={submit} aria-label={t("Sign in")}>
        <header className="row between">
          <h1>{t("Sign in")}</h1>
          <button type="button" className="ghost" onClick={() => setLang(lang === "en" ? "zh" : "en")}>
            {lang === "en" ? "中文" : "English"}
          </button>
        </header>
        {passwordLogin ? (
          <>
            <TextField label={t("Username or e-mail")} name="username" autoComplete="username" value={username} onChange={setUsername} required />
            <TextField label={t("Password")} name="password" type="password" autoComplete="current-password" value={password} onChange={setPassword} required />
            <ErrorText error={error} />
            <button type="submit" className="primary" disabled={busy}>
              {t("Sign in")}
            </button>
          </>
        ) : (
          <p>{t("Password sign-in is turned off.")}</p>
        )}
        {status?.oidc_enabled ? (
          <a className="button" href="/api/oauth/oidc/authorize">
            {t("Sign in with single sign-on")}
          </a>
        ) : null}
        {canRegister ? (
          <p>
            {t("No account?")} <Link href="/register">{t("Register")}</Link>
          </p>
        ) : null}
      </form>
    </main>
  );
}
