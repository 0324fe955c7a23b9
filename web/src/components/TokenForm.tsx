// Create or edit an API key: quota (in the display unit) or unlimited, expiry, model limits,
// allowed IPs, group and relay's per-key rate limits.
import { useState } from "react";
import { api } from "../lib/api";
import { useAction, useLoad } from "../lib/hooks";
import { useT } from "../lib/prefs";
import { parseQuota, quotaInput, quotaUnit } from "../lib/quota";
import { useSession } from "../lib/session";
import { ErrorText, Field, fromLocalInput, toLocalInput } from "./ui";

export interface Token {
  id: number;
  key: string;
  name: string;
  status: number;
  remain_quota: number;
  used_quota: number;
  unlimited_quota: boolean;
  expired_time: number;
  model_limits_enabled?: boolean;
  model_limits?: string;
  allow_ips?: string | null;
  group: string;
  rate_limit_rpm?: number;
  rate_limit_rpd?: number;
  rate_limit_tpm?: number;
  created_time?: number;
  accessed_time?: number;
}

interface Draft {
  name: string;
  quota: string;
  unlimited: boolean;
  never: boolean;
  expires: string;
  limitModels: boolean;
  models: string;
  ips: string;
  group: string;
  rpm: string;
  rpd: string;
  tpm: string;
}

const RATE = /^\d*$/;

/** The request body for the draft, or the reason it cannot be sent (English, for t()). */
export function tokenBody(
  d: Draft,
  toQuota: (text: string) => number | null,
  now: number,
): { body: Record<string, unknown> } | { problem: string } {
  if (!d.name.trim()) return { problem: "Name is required" };
  const quota = d.unlimited ? 0 : toQuota(d.quota);
  if (quota === null) return { problem: "Quota must be a number ≥ 0" };
  const expired = d.never ? -1 : fromLocalInput(d.expires);
  if (!d.never && (!expired || expired <= now)) return { problem: "Expiry must be in the future" };
  if (![d.rpm, d.rpd, d.tpm].every((v) => RATE.test(v.trim()))) {
    return { problem: "Rate limits must be whole numbers (empty = none)" };
  }
  const ips = d.ips.split(/[\s,]+/).filter(Boolean);
  const badIp = ips.find((ip) => !/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(ip));
  if (badIp) return { problem: `Not an IP address or CIDR: ${badIp}` };
  const models = d.models.split(",").map((m) => m.trim()).filter(Boolean);
  if (d.limitModels && models.length === 0) return { problem: "List the allowed models" };
  return {
    body: {
      name: d.name.trim(),
      remain_quota: quota,
      unlimited_quota: d.unlimited,
      expired_time: expired,
      model_limits_enabled: d.limitModels,
      model_limits: d.limitModels ? models.join(",") : "",
      allow_ips: ips.join("\n"),
      group: d.group,
      rate_limit_rpm: Number(d.rpm || 0),
      rate_limit_rpd: Number(d.rpd || 0),
      rate_limit_tpm: Number(d.tpm || 0),
    },
  };
}

export function TokenForm({
  token,
  onSaved,
  onCancel,
}: {
  token: Token | null;
  onSaved: () => void;
  onCancel: () => void;
}) {
  const t = useT();
  const { display } = useSession();
  const groups = useLoad(() => api.get<Record<string, { desc?: string; ratio?: number }>>("/api/user/self/groups"), []);
  const [d, setD] = useState<Draft>(() => ({
    name: token?.name ?? "",
    quota: token ? quotaInput(token.remain_quota, display) : "",
    unlimited: token?.unlimited_quota ?? false,
    never: !token || token.expired_time === -1,
    expires: token && token.expired_time > 0 ? toLocalInput(token.expired_time) : "",
    limitModels: token?.model_limits_enabled ?? false,
    models: token?.model_limits ?? "",
    ips: token?.allow_ips ?? "",
    group: token?.group ?? "",
    rpm: token?.rate_limit_rpm ? String(token.rate_limit_rpm) : "",
    rpd: token?.rate_limit_rpd ? String(token.rate_limit_rpd) : "",
    tpm: token?.rate_limit_tpm ? String(token.rate_limit_tpm) : "",
  }));
  const save = useAction();
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setD((old) => ({ ...old, [key]: value }));

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const out = tokenBody(d, (text) => parseQuota(text, display), Math.floor(Date.now() / 1000));
    if ("problem" in out) return save.setError(t(out.problem));
    const ok = await save.run(() =>
      token ? api.put("/api/token/", { id: token.id, ...out.body }) : api.post("/api/token/", out.body),
    );
    if (ok) onSaved();
  };

  return (
    <form className="form" onSubmit={submit} aria-label={t("Token")}>
      <Field label={t("Name")}>
        <input name="name" maxLength={50} value={d.name} onChange={(e) => set("name", e.target.value)} />
      </Field>
      <div className="grid2">
        <Field label={t("Quota ({unit})", { unit: quotaUnit(display) })}>
          <input name="quota" inputMode="decimal" disabled={d.unlimited} value={d.quota} onChange={(e) => set("quota", e.target.value)} />
        </Field>
        <label className="check">
          <input type="checkbox" name="unlimited" checked={d.unlimited} onChange={(e) => set("unlimited", e.target.checked)} />
          {t("Unlimited quota")}
        </label>
        <Field label={t("Expires")}>
          <input name="expires" type="datetime-local" disabled={d.never} value={d.expires} onChange={(e) => set("expires", e.target.value)} />
        </Field>
        <label className="check">
          <input type="checkbox" checked={d.never} onChange={(e) => set("never", e.target.checked)} />
          {t("Never expires")}
        </label>
      </div>
      <label className="check">
        <input type="checkbox" checked={d.limitModels} onChange={(e) => set("limitModels", e.target.checked)} />
        {t("Limit models")}
      </label>
      {d.limitModels ? (
        <Field label={t("Allowed models")} hint={t("Comma-separated")}>
          <input name="model_limits" value={d.models} onChange={(e) => set("models", e.target.value)} />
        </Field>
      ) : null}
      <Field label={t("Allowed IPs")} hint={t("One IP or CIDR per line; empty allows all")}>
        <textarea name="allow_ips" className="mono" rows={2} value={d.ips} onChange={(e) => set("ips", e.target.value)} />
      </Field>
      <Field label={t("Group")}>
        <select name="group" value={d.group} onChange={(e) => set("group", e.target.value)}>
          <option value="">{t("The user's group")}</option>
          {Object.entries(groups.data ?? {}).map(([name, info]) => (
            <option key={name} value={name}>
              {name}
              {info?.desc ? ` — ${info.desc}` : ""}
            </option>
          ))}
        </select>
      </Field>
      <div className="grid3">
        <Field label="RPM">
          <input name="rpm" inputMode="numeric" placeholder={t("none")} value={d.rpm} onChange={(e) => set("rpm", e.target.value)} />
        </Field>
        <Field label="RPD">
          <input name="rpd" inputMode="numeric" placeholder={t("none")} value={d.rpd} onChange={(e) => set("rpd", e.target.value)} />
        </Field>
        <Field label="TPM">
          <input name="tpm" inputMode="numeric" placeholder={t("none")} value={d.tpm} onChange={(e) => set("tpm", e.target.value)} />
        </Field>
      </div>
      <ErrorText error={save.error || groups.error} />
      <div className="row end">
        <button type="button" onClick={onCancel}>
          {t("Cancel")}
        </button>
        <button type="submit" className="primary" disabled={save.busy}>
          {token ? t("Save token") : t("Create token")}
        </button>
      </div>
    </form>
  );
}
