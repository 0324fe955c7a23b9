// Personal settings: display name, password, the personal access token, redeeming a code, and
// notifications.
import { useState } from "react";
import { NotifyForm } from "../components/NotifyForm";
import { CopyButton, ErrorText, Field, Notice, TextField } from "../components/ui";
import { api } from "../lib/api";
import { useAction } from "../lib/hooks";
import { usePrefs } from "../lib/prefs";
import { formatQuota } from "../lib/quota";
import { useSession } from "../lib/session";

export function Profile() {
  const { t, lang, setLang, theme, setTheme } = usePrefs();
  const { user, display, refresh } = useSession();
  const [displayName, setDisplayName] = useState(user?.display_name ?? "");
  const [original, setOriginal] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [accessToken, setAccessToken] = useState("");
  const [code, setCode] = useState("");
  const [notice, setNotice] = useState("");
  const name = useAction();
  const pass = useAction();
  const token = useAction();
  const redeem = useAction();

  return (
    <section className="stack">
      <h1>{t("Personal settings")}</h1>
      <Notice text={notice} />
      <div className="card">
        <p>
          {t("Signed in as {name}", { name: user?.username ?? "" })} · {t("Balance")}:{" "}
          <strong>{formatQuota(user?.quota ?? 0, display)}</strong> · {t("Used")}: {formatQuota(user?.used_quota ?? 0, display)} ·{" "}
          {t("Requests")}: {user?.request_count ?? 0}
        </p>
      </div>
      <form
        className="card form"
        aria-label={t("Display name")}
        onSubmit={async (e) => {
          e.preventDefault();
          if (await name.run(() => api.put("/api/user/self", { display_name: displayName }))) {
            setNotice(t("Saved"));
            refresh();
          }
        }}
      >
        <h2>{t("Display name")}</h2>
        <TextField label={t("Display name")} value={displayName} onChange={setDisplayName} />
        <ErrorText error={name.error} />
        <button type="submit" disabled={name.busy}>
          {t("Save")}
        </button>
      </form>
      <form
        className="card form"
        aria-label={t("Change password")}
        onSubmit={async (e) => {
          e.preventDefault();
          if (password.length < 8) return pass.setError(t("The password needs at least 8 characters"));
          if (password !== confirm) return pass.setError(t("The passwords do not match"));
          if (await pass.run(() => api.put("/api/user/self", { original_password: original, password }))) {
            setNotice(t("Password changed"));
            setOriginal("");
            setPassword("");
            setConfirm("");
          }
        }}
      >
        <h2>{t("Change password")}</h2>
        <TextField label={t("Current password")} type="password" autoComplete="current-password" value={original} onChange={setOriginal} />
        <TextField label={t("New password")} type="password" autoComplete="new-password" value={password} onChange={setPassword} />
        <TextField label={t("Confirm password")} type="password" autoComplete="new-password" value={confirm} onChange={setConfirm} />
        <ErrorText error={pass.error} />
        <button type="submit" disabled={pass.busy}>
          {t("Change password")}
        </button>
      </form>
      <div className="card form">
        <h2>{t("Access token")}</h2>
        <p className="hint">{t("For scripts: send it as the Authorization header with New-Api-User. Generating a new one replaces the old one.")}</p>
        {accessToken ? (
          <div className="row wrap">
            <code className="mono">{accessToken}</code>
            <CopyButton text={() => accessToken} />
          </div>
        ) : null}
        <ErrorText error={token.error} />
        <button type="button" disabled={token.busy} onClick={() => token.run(async () => setAccessToken(await api.get<string>("/api/user/token")))}>
          {t("Generate access token")}
        </button>
      </div>
      <form
        className="card form"
        aria-label={t("Redeem a code")}
        onSubmit={async (e) => {
          e.preventDefault();
          let added = 0;
          if (await redeem.run(async () => void (added = await api.post<number>("/api/user/topup", { key: code.trim() })))) {
            setNotice(t("Added {q}", { q: formatQuota(added, display) }));
            setCode("");
            refresh();
          }
        }}
      >
        <h2>{t("Redeem a code")}</h2>
        <TextField label={t("Redemption code")} name="code" value={code} onChange={setCode} />
        <ErrorText error={redeem.error} />
        <button type="submit" disabled={redeem.busy || !code.trim()}>
          {t("Redeem")}
        </button>
      </form>
      <NotifyForm
        onSaved={() => {
          setNotice(t("Saved"));
          refresh();
        }}
      />
      <div className="card form">
        <h2>{t("Display")}</h2>
        <div className="row wrap">
          <Field label={t("Language")}>
            <select value={lang} onChange={(e) => setLang(e.target.value as "en" | "zh")}>
              <option value="en">English</option>
              <option value="zh">中文</option>
            </select>
          </Field>
          <Field label={t("Theme")}>
            <select value={theme} onChange={(e) => setTheme(e.target.value as "light" | "dark")}>
              <option value="light">{t("Light")}</option>
              <option value="dark">{t("Dark")}</option>
            </select>
          </Field>
        </div>
      </div>
    </section>
  );
}
