// System settings (root): ratio and price tables, retries and auto-disable, rate limits,
// sign-in switches, quota display and log clean-up. Each change is one PUT /api/option/.
import { useState } from "react";
import { RatioTable } from "../components/RatioTable";
import { ErrorText, Field, fromLocalInput } from "../components/ui";
import { api } from "../lib/api";
import { useAction, useLoad } from "../lib/hooks";
import { useT } from "../lib/prefs";
import { useSession } from "../lib/session";

type Kind = "bool" | "text" | "number" | "lines" | { options: string[] };

interface Spec {
  key: string;
  label: string;
  kind: Kind;
  hint?: string;
}

const SECTIONS: { title: string; specs: Spec[] }[] = [
  {
    title: "Retries and auto-disable",
    specs: [
      { key: "RetryTimes", label: "Retry times", kind: "number" },
      { key: "AutomaticRetryStatusCodes", label: "Retry on status codes", kind: "text", hint: "e.g. 401,403,429,500-599" },
      { key: "AutomaticDisableChannelEnabled", label: "Disable failing channels automatically", kind: "bool" },
      { key: "AutomaticEnableChannelEnabled", label: "Re-enable channels that pass a test", kind: "bool" },
      { key: "AutomaticDisableStatusCodes", label: "Disable on status codes", kind: "text" },
      { key: "AutomaticDisableKeywords", label: "Disable on error keywords", kind: "lines", hint: "One per line" },
      { key: "ChannelDisableThreshold", label: "Slow test threshold (seconds)", kind: "number" },
    ],
  },
  {
    title: "Rate limits",
    specs: [
      { key: "ModelRequestRateLimitEnabled", label: "Limit requests per user", kind: "bool" },
      { key: "ModelRequestRateLimitDurationMinutes", label: "Window (minutes)", kind: "number" },
      { key: "ModelRequestRateLimitCount", label: "Requests per window (0 = no limit)", kind: "number" },
      { key: "ModelRequestRateLimitSuccessCount", label: "Successful requests per window", kind: "number" },
    ],
  },
  {
    title: "Registration and sign-in",
    specs: [
      { key: "RegisterEnabled", label: "Allow registration", kind: "bool" },
      { key: "PasswordRegisterEnabled", label: "Allow registration by password", kind: "bool" },
      { key: "PasswordLoginEnabled", label: "Allow password sign-in", kind: "bool" },
      { key: "QuotaForNewUser", label: "Quota for new users", kind: "number" },
    ],
  },
  {
    title: "Quota display",
    specs: [
      { key: "general_setting.quota_display_type", label: "Display currency", kind: { options: ["USD", "CNY", "TOKENS"] } },
      { key: "QuotaPerUnit", label: "Quota per 1 USD", kind: "number" },
      { key: "USDExchangeRate", label: "CNY per USD", kind: "number" },
      { key: "DisplayInCurrencyEnabled", label: "Show quota as currency", kind: "bool" },
    ],
  },
  {
    title: "Logs",
    specs: [{ key: "LogConsumeEnabled", label: "Record consumption logs", kind: "bool" }],
  },
];

const TABLES = [
  { key: "ModelRatio", label: "Model ratios" },
  { key: "ModelPrice", label: "Model prices (per call, USD)" },
  { key: "CompletionRatio", label: "Completion ratios" },
  { key: "AudioRatio", label: "Audio ratios" },
  { key: "AudioCompletionRatio", label: "Audio completion ratios" },
  { key: "GroupRatio", label: "Group ratios" },
];

function OptionSection({
  title,
  specs,
  values,
  onSaved,
}: {
  title: string;
  specs: Spec[];
  values: Record<string, string>;
  onSaved: () => void;
}) {
  const t = useT();
  const [draft, setDraft] = useState<Record<string, string>>(() =>
    Object.fromEntries(specs.map((s) => [s.key, values[s.key] ?? ""])),
  );
  const [saved, setSaved] = useState(false);
  const save = useAction();
  const changed = specs.filter((s) => (values[s.key] ?? "") !== draft[s.key]);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setSaved(false);
    const ok = await save.run(async () => {
      for (const s of changed) {
        try {
          await api.put("/api/option/", { key: s.key, value: draft[s.key] });
        } catch (err) {
          throw new Error(`${t(s.label)}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    });
    if (ok) {
      setSaved(true);
      onSaved();
    }
  };
  return (
    <form className="card form" onSubmit={submit} aria-label={t(title)}>
      <h2>{t(title)}</h2>
      <div className="grid2">
        {specs.map((s) =>
          s.kind === "bool" ? (
            <label className="check" key={s.key}>
              <input
                type="checkbox"
                name={s.key}
                checked={draft[s.key] === "true"}
                onChange={(e) => setDraft((d) => ({ ...d, [s.key]: e.target.checked ? "true" : "false" }))}
              />
              {t(s.label)}
            </label>
          ) : (
            <Field key={s.key} label={t(s.label)} hint={s.hint ? t(s.hint) : undefined}>
              {typeof s.kind === "object" ? (
                <select name={s.key} value={draft[s.key]} onChange={(e) => setDraft((d) => ({ ...d, [s.key]: e.target.value }))}>
                  {s.kind.options.map((o) => (
                    <option key={o} value={o}>
                      {o}
                    </option>
                  ))}
                </select>
              ) : s.kind === "lines" ? (
                <textarea name={s.key} rows={3} value={draft[s.key]} onChange={(e) => setDraft((d) => ({ ...d, [s.key]: e.target.value }))} />
              ) : (
                <input
                  name={s.key}
                  inputMode={s.kind === "number" ? "decimal" : undefined}
                  value={draft[s.key]}
                  onChange={(e) => setDraft((d) => ({ ...d, [s.key]: e.target.value }))}
                />
              )}
            </Field>
          ),
        )}
      </div>
      <ErrorText error={save.error} />
      {saved && !save.error ? <p className="notice" role="status">{t("Saved")}</p> : null}
      <div className="row end">
        <button type="submit" className="primary" disabled={save.busy || changed.length === 0}>
          {t("Save")}
        </button>
      </div>
    </form>
  );
}

function LogCleanup() {
  const t = useT();
  const [before, setBefore] = useState("");
  const [notice, setNotice] = useState("");
  const run = useAction();
  return (
    <div className="card form">
      <h2>{t("Log retention")}</h2>
      <p className="hint">{t("Automatic retention is set with the LOG_RETENTION_DAYS environment variable.")}</p>
      <div className="row wrap">
        <Field label={t("Delete logs before")}>
          <input type="datetime-local" value={before} onChange={(e) => setBefore(e.target.value)} />
        </Field>
        <button
          type="button"
          disabled={!before || run.busy}
          onClick={() =>
            window.confirm(t("Delete logs before this time?")) &&
            run.run(async () => {
              const n = await api.del<number>(`/api/log/?target_timestamp=${fromLocalInput(before)}`);
              setNotice(t("{n} log rows deleted", { n }));
            })
          }
        >
          {t("Delete")}
        </button>
      </div>
      <ErrorText error={run.error} />
      {notice ? <p className="notice">{notice}</p> : null}
    </div>
  );
}

export function Settings() {
  const t = useT();
  const { refresh } = useSession();
  const options = useLoad(() => api.get<{ key: string; value: string }[]>("/api/option/"), []);
  const [tab, setTab] = useState(TABLES[0].key);
  const [tableNotice, setTableNotice] = useState("");
  const saveTable = useAction();
  const values = Object.fromEntries((options.data ?? []).map((o) => [o.key, o.value]));
  if (options.error) return <ErrorText error={options.error} />;
  if (!options.data) return <p className="loading">{t("Loading…")}</p>;
  return (
    <section className="stack">
      <h1>{t("Settings")}</h1>
      <div className="card">
        <div className="tabs" role="tablist">
          {TABLES.map((x) => (
            <button
              key={x.key}
              type="button"
              role="tab"
              aria-selected={tab === x.key}
              className={tab === x.key ? "active" : ""}
              onClick={() => {
                setTab(x.key);
                setTableNotice("");
              }}
            >
              {t(x.label)}
            </button>
          ))}
        </div>
        {TABLES.filter((x) => x.key === tab).map((x) => (
          <RatioTable
            key={x.key}
            title={t(x.label)}
            initial={values[x.key] ?? "{}"}
            busy={saveTable.busy}
            onSave={async (json) => {
              setTableNotice("");
              if (await saveTable.run(() => api.put("/api/option/", { key: x.key, value: json }))) {
                setTableNotice(t("Saved"));
                options.reload();
              }
            }}
          />
        ))}
        <ErrorText error={saveTable.error} />
        {tableNotice ? <p className="notice" role="status">{tableNotice}</p> : null}
      </div>
      {SECTIONS.map((s) => (
        <OptionSection
          key={s.title + (options.data ? "" : "-")}
          title={s.title}
          specs={s.specs}
          values={values}
          onSaved={() => {
            options.reload();
            refresh();
          }}
        />
      ))}
      <LogCleanup />
    </section>
  );
}
