// Notification settings (PUT /api/user/setting): where the low-balance warning should go and
// below which balance, and the billing/logging switches stored beside them in the user's setting.
import { useState } from "react";
import { api } from "../lib/api";
import { useAction } from "../lib/hooks";
import { useT } from "../lib/prefs";
import { parseQuota, quotaInput, quotaUnit } from "../lib/quota";
import type { QuotaDisplay } from "../lib/quota";
import { useSession } from "../lib/session";
import { Field, SubmitRow, TextField } from "./ui";

export const NOTIFY_TYPES = ["email", "webhook", "bark", "gotify"] as const;
const TYPE_LABELS: Record<string, string> = { email: "E-mail", webhook: "Webhook", bark: "Bark", gotify: "Gotify" };

export interface NotifyDraft {
  type: string;
  threshold: string;
  email: string;
  webhookUrl: string;
  webhookSecret: string;
  barkUrl: string;
  gotifyUrl: string;
  gotifyToken: string;
  gotifyPriority: string;
  acceptUnset: boolean;
  recordIp: boolean;
  upstreamNotice: boolean;
}

/** The draft a user's stored setting (a JSON object as text) starts the form with. */
export function notifyDraft(setting: string | undefined, d: QuotaDisplay): NotifyDraft {
  let s: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(setting || "{}");
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) s = parsed as Record<string, unknown>;
  } catch {
    // an unreadable setting starts the form empty, as new-api's GetSetting does
  }
  const text = (key: string) => (typeof s[key] === "string" ? (s[key] as string) : "");
  const threshold = Number(s.quota_warning_threshold) || 0;
  const type = text("notify_type");
  return {
    type: (NOTIFY_TYPES as readonly string[]).includes(type) ? type : "email",
    threshold: threshold > 0 ? quotaInput(threshold, d) : "",
    email: text("notification_email"),
    webhookUrl: text("webhook_url"),
    webhookSecret: text("webhook_secret"),
    barkUrl: text("bark_url"),
    gotifyUrl: text("gotify_url"),
    gotifyToken: text("gotify_token"),
    gotifyPriority: type === "gotify" ? String(Number(s.gotify_priority) || 0) : "5",
    acceptUnset: s.accept_unset_model_ratio_model === true,
    recordIp: s.record_ip_log === true,
    upstreamNotice: s.upstream_model_update_notify_enabled === true,
  };
}

/** The request body for the draft, or the reason it cannot be sent (English, for t()). */
export function notifyBody(
  n: NotifyDraft,
  d: QuotaDisplay,
  admin: boolean,
): { body: Record<string, unknown> } | { problem: string } {
  const threshold = parseQuota(n.threshold, d);
  if (threshold === null || threshold <= 0) return { problem: "The warning threshold must be a number > 0" };
  const priority = n.gotifyPriority.trim() === "" ? 5 : Number(n.gotifyPriority);
  if (n.type === "gotify" && !(Number.isInteger(priority) && priority >= 0 && priority <= 10)) {
    return { problem: "Gotify priority must be 0 to 10" };
  }
  const channel: Record<string, Record<string, unknown>> = {
    email: { notification_email: n.email.trim() },
    webhook: { webhook_url: n.webhookUrl.trim(), webhook_secret: n.webhookSecret },
    bark: { bark_url: n.barkUrl.trim() },
    gotify: { gotify_url: n.gotifyUrl.trim(), gotify_token: n.gotifyToken.trim(), gotify_priority: priority },
  };
  return {
    body: {
      notify_type: n.type,
      quota_warning_threshold: threshold,
      ...channel[n.type],
      accept_unset_model_ratio_model: n.acceptUnset,
      record_ip_log: n.recordIp,
      ...(admin ? { upstream_model_update_notify_enabled: n.upstreamNotice } : {}),
    },
  };
}

export function NotifyForm({ onSaved }: { onSaved: () => void }) {
  const t = useT();
  const { user, display, isAdmin } = useSession();
  const [n, setN] = useState(() => notifyDraft(user?.setting, display));
  const save = useAction();
  const set = <K extends keyof NotifyDraft>(key: K) => (value: NotifyDraft[K]) => setN((old) => ({ ...old, [key]: value }));
  const check = (key: "acceptUnset" | "recordIp" | "upstreamNotice", label: string) => (
    <label className="check">
      <input type="checkbox" name={key} checked={n[key]} onChange={(e) => set(key)(e.target.checked)} />
      {label}
    </label>
  );
  return (
    <form
      className="card form"
      aria-label={t("Notifications")}
      onSubmit={async (e) => {
        e.preventDefault();
        const out = notifyBody(n, display, isAdmin);
        if ("problem" in out) return save.setError(t(out.problem));
        if (await save.run(() => api.put("/api/user/setting", out.body))) onSaved();
      }}
    >
      <h2>{t("Notifications")}</h2>
      <div className="row wrap">
        <Field label={t("Notify by")}>
          <select name="notify_type" value={n.type} onChange={(e) => set("type")(e.target.value)}>
            {NOTIFY_TYPES.map((x) => (
              <option key={x} value={x}>
                {t(TYPE_LABELS[x])}
              </option>
            ))}
          </select>
        </Field>
        <TextField
          label={t("Warn below ({unit})", { unit: quotaUnit(display) })}
          name="quota_warning_threshold"
          inputMode="decimal"
          value={n.threshold}
          onChange={set("threshold")}
        />
      </div>
      {n.type === "email" ? (
        <TextField label={t("Notification e-mail")} hint={t("Empty: the account's e-mail")} name="notification_email" type="email" value={n.email} onChange={set("email")} />
      ) : null}
      {n.type === "webhook" ? (
        <>
          <TextField label={t("Webhook URL")} name="webhook_url" value={n.webhookUrl} onChange={set("webhookUrl")} />
          <TextField label={t("Webhook secret")} hint={t("Signs each call (HMAC-SHA256); empty: unsigned")} name="webhook_secret" type="password" autoComplete="off" value={n.webhookSecret} onChange={set("webhookSecret")} />
        </>
      ) : null}
      {n.type === "bark" ? <TextField label={t("Bark URL")} name="bark_url" value={n.barkUrl} onChange={set("barkUrl")} /> : null}
      {n.type === "gotify" ? (
        <>
          <TextField label={t("Gotify server URL")} name="gotify_url" value={n.gotifyUrl} onChange={set("gotifyUrl")} />
          <TextField label={t("Gotify token")} name="gotify_token" type="password" autoComplete="off" value={n.gotifyToken} onChange={set("gotifyToken")} />
          <TextField label={t("Gotify priority (0–10)")} name="gotify_priority" inputMode="numeric" value={n.gotifyPriority} onChange={set("gotifyPriority")} />
        </>
      ) : null}
      {check("acceptUnset", t("Accept models without a price (billed at the default ratio)"))}
      {check("recordIp", t("Record the client IP in my logs"))}
      {isAdmin ? check("upstreamNotice", t("Notify me of upstream model updates")) : null}
      <SubmitRow action={save} label={t("Save notifications")} />
    </form>
  );
}
