// Usage logs with new-api's filters and a detail drawer with the billing breakdown. Admins list
// everyone's (/api/log/); users their own (/api/log/self, without user and channel filters).
import { useState } from "react";
import { PageHeader, PagedTable } from "../components/Listing";
import type { Column } from "../components/Listing";
import { Drawer, ErrorText, Field, formatTime, fromLocalInput, toLocalInput } from "../components/ui";
import { usePaged } from "../lib/hooks";
import { useT } from "../lib/prefs";
import { formatQuota } from "../lib/quota";
import type { QuotaDisplay } from "../lib/quota";
import { useSession } from "../lib/session";

export interface LogRow {
  id: number;
  created_at: number;
  type: number;
  content: string;
  username: string;
  token_name: string;
  model_name: string;
  quota: number;
  prompt_tokens: number;
  completion_tokens: number;
  use_time: number;
  is_stream: boolean;
  channel: number;
  channel_name?: string;
  group: string;
  ip: string;
  request_id: string;
  upstream_request_id?: string;
  other: string;
}

export const LOG_TYPES: Record<number, string> = {
  1: "Top-up",
  2: "Consume",
  3: "Manage",
  4: "System",
  5: "Error",
  6: "Refund",
};

interface Filters {
  start: string;
  end: string;
  username: string;
  token_name: string;
  model_name: string;
  channel: string;
  type: string;
  request_id: string;
}

function parseOther(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text || "{}");
    return value && typeof value === "object" ? value : {};
  } catch {
    return {};
  }
}

export function LogDetail({ row, display, admin }: { row: LogRow; display: QuotaDisplay; admin: boolean }) {
  const t = useT();
  const other = parseOther(row.other);
  const num = (k: string) => (typeof other[k] === "number" ? (other[k] as number) : undefined);
  const price = num("model_price");
  const cached = num("cache_tokens") ?? 0;
  const facts: [string, string][] = [
    [t("Time"), formatTime(row.created_at)],
    [t("Type"), t(LOG_TYPES[row.type] ?? String(row.type))],
    [t("Request ID"), row.request_id || "—"],
    [t("Model"), row.model_name],
    [t("Token"), row.token_name],
    [t("Group"), row.group],
    [t("Prompt tokens"), String(row.prompt_tokens)],
    [t("Completion tokens"), String(row.completion_tokens)],
    [t("Cached tokens"), String(cached)],
    [t("Duration"), `${row.use_time} s${row.is_stream ? ` · ${t("stream")}` : ""}`],
    [t("Charged"), formatQuota(row.quota, display)],
  ];
  if (admin) {
    facts.push([t("User"), row.username], [t("Channel"), `${row.channel_name || ""} #${row.channel}`], ["IP", row.ip || "—"]);
  }
  const billing: [string, string][] = [];
  if (price !== undefined && price >= 0) billing.push([t("Model price (per call)"), String(price)]);
  for (const [k, label] of [
    ["model_ratio", "Model ratio"],
    ["completion_ratio", "Completion ratio"],
    ["cache_ratio", "Cache ratio"],
    ["group_ratio", "Group ratio"],
  ] as const) {
    if (num(k) !== undefined) billing.push([t(label), String(num(k))]);
  }
  const mr = num("model_ratio");
  const gr = num("group_ratio") ?? 1;
  const cr = num("completion_ratio") ?? 1;
  const cacheR = num("cache_ratio") ?? 1;
  let formula = "";
  if (price !== undefined && price >= 0) {
    formula = `${price} × ${gr} × QuotaPerUnit`;
  } else if (mr !== undefined) {
    const plain = row.prompt_tokens - cached;
    formula = `(${plain} + ${cached} × ${cacheR} + ${row.completion_tokens} × ${cr}) × ${mr} × ${gr} = ${row.quota}`;
  }
  return (
    <div className="detail">
      <dl>
        {facts.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      {billing.length ? (
        <>
          <h3>{t("Billing")}</h3>
          <dl>
            {billing.map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>{v}</dd>
              </div>
            ))}
          </dl>
          {formula ? <p className="mono formula">{formula}</p> : null}
        </>
      ) : null}
      {row.content ? <p>{row.content}</p> : null}
    </div>
  );
}

const empty = (): Filters => ({
  start: toLocalInput(Math.floor(Date.now() / 1000) - 86400),
  end: "",
  username: "",
  token_name: "",
  model_name: "",
  channel: "",
  type: "",
  request_id: "",
});

export function Logs() {
  const t = useT();
  const { isAdmin, display } = useSession();
  const [draft, setDraft] = useState<Filters>(empty);
  const [applied, setApplied] = useState<Filters>(draft);
  const [open, setOpen] = useState<LogRow | null>(null);
  const query = {
    start_timestamp: fromLocalInput(applied.start) || undefined,
    end_timestamp: fromLocalInput(applied.end) || undefined,
    token_name: applied.token_name,
    model_name: applied.model_name,
    type: applied.type,
    request_id: applied.request_id,
    ...(isAdmin ? { username: applied.username, channel: applied.channel } : {}),
  };
  const list = usePaged<LogRow>(isAdmin ? "/api/log/" : "/api/log/self", query);
  const columns: (Column<LogRow> | false)[] = [
    { head: t("Time"), cell: (row) => formatTime(row.created_at) },
    isAdmin && { head: t("User"), cell: (row) => row.username },
    { head: t("Type"), cell: (row) => t(LOG_TYPES[row.type] ?? String(row.type)) },
    { head: t("Model"), cell: (row) => row.model_name },
    { head: t("Token"), cell: (row) => row.token_name },
    isAdmin && { head: t("Channel"), cell: (row) => row.channel_name || (row.channel ? `#${row.channel}` : "") },
    { head: t("Prompt"), cell: (row) => row.prompt_tokens },
    { head: t("Completion"), cell: (row) => row.completion_tokens },
    { head: t("Quota"), cell: (row) => formatQuota(row.quota, display) },
    { head: t("Duration"), cell: (row) => `${row.use_time} s` },
  ];
  const set = (k: keyof Filters) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) =>
    setDraft((d) => ({ ...d, [k]: e.target.value }));

  return (
    <section>
      <PageHeader title={t("Logs")} />
      <form
        className="filters grid4"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied({ ...draft });
          list.reload();
        }}
      >
        <Field label={t("From")}>
          <input type="datetime-local" value={draft.start} onChange={set("start")} />
        </Field>
        <Field label={t("To")}>
          <input type="datetime-local" value={draft.end} onChange={set("end")} />
        </Field>
        {isAdmin ? (
          <Field label={t("User")}>
            <input name="username" value={draft.username} onChange={set("username")} />
          </Field>
        ) : null}
        <Field label={t("Token")}>
          <input name="token_name" value={draft.token_name} onChange={set("token_name")} />
        </Field>
        <Field label={t("Model")}>
          <input name="model_name" value={draft.model_name} onChange={set("model_name")} />
        </Field>
        {isAdmin ? (
          <Field label={t("Channel ID")}>
            <input name="channel" inputMode="numeric" value={draft.channel} onChange={set("channel")} />
          </Field>
        ) : null}
        <Field label={t("Type")}>
          <select name="type" value={draft.type} onChange={set("type")}>
            <option value="">{t("All types")}</option>
            {Object.entries(LOG_TYPES).map(([v, label]) => (
              <option key={v} value={v}>
                {t(label)}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t("Request ID")}>
          <input name="request_id" value={draft.request_id} onChange={set("request_id")} />
        </Field>
        <div className="row end">
          <button type="submit" className="primary">
            {t("Apply filters")}
          </button>
        </div>
      </form>
      <ErrorText error={list.error} />
      <PagedTable
        list={list}
        columns={columns.filter((c) => c !== false)}
        rowAttrs={(row) => ({ className: "clickable", "data-request-id": row.request_id, onClick: () => setOpen(row) })}
        empty={t("No logs")}
      />
      {open ? (
        <Drawer title={t("Log #{id}", { id: open.id })} onClose={() => setOpen(null)}>
          <LogDetail row={open} display={display} admin={isAdmin} />
        </Drawer>
      ) : null}
    </section>
  );
}
