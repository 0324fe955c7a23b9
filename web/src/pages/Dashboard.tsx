// Usage over time by model and by channel, top users, RPM/TPM now and the caller's balance.
// Users see their own numbers (/api/data/self); admins see everyone's (/api/data/).
import { useMemo, useState } from "react";
import { RankedBars, StackedBars, hourBuckets, seriesBy } from "../components/Charts";
import { ErrorText } from "../components/ui";
import { api } from "../lib/api";
import { useLoad } from "../lib/hooks";
import { useT } from "../lib/prefs";
import { formatQuota } from "../lib/quota";
import { useSession } from "../lib/session";

interface Bucket {
  created_at: number;
  model_name: string;
  channel_id: number;
  channel_name?: string;
  count: number;
  quota: number;
  token_used: number;
}

interface Flow {
  username?: string;
  quota: number;
}

type Metric = "count" | "token_used" | "quota";
const RANGES = { "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 - 3600 };

function ranked(rows: Flow[], key: (f: Flow) => string, value: (f: Flow) => number) {
  const sums = new Map<string, number>();
  for (const f of rows) sums.set(key(f), (sums.get(key(f)) ?? 0) + value(f));
  return [...sums.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([name, v]) => ({ name, value: v }));
}

export function Dashboard() {
  const t = useT();
  const { user, isAdmin, display, refresh } = useSession();
  const [range, setRange] = useState<keyof typeof RANGES>("24h");
  const [metric, setMetric] = useState<Metric>("count");
  const [stamp, setStamp] = useState(() => Math.floor(Date.now() / 1000));
  const window_ = { start_timestamp: stamp - RANGES[range], end_timestamp: stamp + 3600 };
  const data = useLoad(
    () => api.get<Bucket[]>(isAdmin ? "/api/data/" : "/api/data/self", window_),
    [range, stamp, isAdmin],
  );
  // per channel and hour: admins only (a user's own dashboard shows no channels)
  const channels = useLoad(
    () => (isAdmin ? api.get<Bucket[]>("/api/data/channels", window_) : Promise.resolve([])),
    [range, stamp, isAdmin],
  );
  const flow = useLoad(
    () => api.get<Flow[]>(isAdmin ? "/api/data/flow" : "/api/data/flow/self", window_),
    [range, stamp, isAdmin],
  );
  const stat = useLoad(
    () => api.get<{ quota: number; rpm: number; tpm: number }>(isAdmin ? "/api/log/stat" : "/api/log/self/stat", window_),
    [range, stamp, isAdmin],
  );
  const rows = data.data ?? [];
  const buckets = useMemo(() => hourBuckets(window_.start_timestamp, stamp), [range, stamp]);
  const byModel = seriesBy(rows, buckets, (r) => r.created_at, (r) => r.model_name || "—", (r) => r[metric]);
  const fmt = (v: number) => (metric === "quota" ? formatQuota(v, display) : v.toLocaleString("en-US"));
  const byChannel = seriesBy(
    channels.data ?? [],
    buckets,
    (r) => r.created_at,
    (r) => `#${r.channel_id} ${r.channel_name ?? ""}`.trim(),
    (r) => r[metric],
  );
  const topUsers = ranked(flow.data ?? [], (f) => f.username || "—", (f) => f.quota);
  const totals = rows.reduce(
    (acc, r) => ({ count: acc.count + r.count, quota: acc.quota + r.quota, tokens: acc.tokens + r.token_used }),
    { count: 0, quota: 0, tokens: 0 },
  );
  const metricLabel = { count: t("Requests"), token_used: t("Tokens"), quota: t("Quota") }[metric];

  return (
    <section>
      <header className="row between wrap">
        <h1>{t("Dashboard")}</h1>
        <div className="row wrap">
          <select aria-label={t("Range")} value={range} onChange={(e) => setRange(e.target.value as keyof typeof RANGES)}>
            <option value="24h">{t("Last 24 hours")}</option>
            <option value="7d">{t("Last 7 days")}</option>
            <option value="30d">{t("Last 30 days")}</option>
          </select>
          <select aria-label={t("Metric")} value={metric} onChange={(e) => setMetric(e.target.value as Metric)}>
            <option value="count">{t("Requests")}</option>
            <option value="token_used">{t("Tokens")}</option>
            <option value="quota">{t("Quota")}</option>
          </select>
          <button
            type="button"
            onClick={() => {
              setStamp(Math.floor(Date.now() / 1000));
              refresh();
            }}
          >
            {t("Refresh")}
          </button>
        </div>
      </header>
      <ErrorText error={data.error || channels.error || flow.error || stat.error} />
      <div className="stats">
        <div className="card stat" data-testid="stat-balance">
          <span>{t("My balance")}</span>
          <strong>{formatQuota(user?.quota ?? 0, display)}</strong>
        </div>
        <div className="card stat" data-testid="stat-requests">
          <span>{t("Requests")}</span>
          <strong>{totals.count.toLocaleString("en-US")}</strong>
        </div>
        <div className="card stat" data-testid="stat-tokens">
          <span>{t("Tokens")}</span>
          <strong>{totals.tokens.toLocaleString("en-US")}</strong>
        </div>
        <div className="card stat" data-testid="stat-quota">
          <span>{t("Quota used")}</span>
          <strong>{formatQuota(totals.quota, display)}</strong>
        </div>
        <div className="card stat" data-testid="stat-rpm">
          <span>{t("RPM / TPM now")}</span>
          <strong>
            {stat.data?.rpm ?? 0} / {stat.data?.tpm ?? 0}
          </strong>
        </div>
      </div>
      <div className="grid2 top">
        <StackedBars title={`${metricLabel} · ${t("by model")}`} buckets={buckets} series={byModel} format={fmt} />
        {isAdmin ? (
          <StackedBars title={`${metricLabel} · ${t("by channel")}`} buckets={buckets} series={byChannel} format={fmt} />
        ) : null}
        {isAdmin ? (
          <RankedBars title={t("Top users by quota")} rows={topUsers} format={(v) => formatQuota(v, display)} />
        ) : null}
      </div>
    </section>
  );
}
