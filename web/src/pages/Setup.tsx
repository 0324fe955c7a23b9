// First run: create the root account (new-api's POST /api/setup), then sign in.
import { useState } from "react";
import { ErrorText, TextField } from "../components/ui";
import { api } from "../lib/api";
import { useAction } from "../lib/hooks";
import { usePrefs } from "../lib/prefs";
import { useSession } from "../lib/session";

export function Setup() {
  const { t, lang, setLang } = usePrefs();
  const { refresh } = useSession();
  const [username, setUsername] = useState("root");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [selfUse, setSelfUse] = useState(false);
  const { busy, error, setError, run } = useAction();

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (password.length < 8) return setError(t("The password needs at least 8 characters"));
    if (password !== confirm) return setError(t("The passwords do not match"));
    const done = await run(() =>
      api.post("/api/setup", {
        username,
        password,
        confirmPassword: confirm,
        SelfUseModeEnabled: selfUse,
        DemoSiteEnabled: false,
      }),
    );
    if (done) {
      window.history.replaceState(null, "", "/login");
      await refresh();
    }
  };

  return (
    <main className="center">
      <form className="card narrow" onSubmit={submit} aria-label={t("Setup")}>
        <header className="row between">
          <h1>{t("Welcome to relay")}</h1>
          <button type="button" className="ghost" onClick={() => setLang(lang === "en" ? "zh" : "en")}>
            {lang === "en" ? "中文" : "English"}
          </button>
        </header>
        <p>{t("Create the root account to finish the first-run setup.")}</p>
        <TextField label={t("Root username")} hint={t("At most 12 characters")} name="username" maxLength={12} value={username} onChange={setUsername} required />
        <TextField label={t("Password")} name="password" type="password" autoComplete="new-password" value={password} onChange={setPassword} required />
        <TextField label={t("Confirm password")} name="confirmPassword" type="password" autoComplete="new-password" value={confirm} onChange={setConfirm} required />
        <label className="check">
          <input type="checkbox" checked={selfUse} onChange={(e) => setSelfUse(e.target.checked)} />
          {t("Self-use mode (no prices needed for models)")}
        </label>
        <ErrorText error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {t("Finish setup")}
        </button>
      </form>
    </main>
  );
}
