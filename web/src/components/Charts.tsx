// Hand-drawn SVG charts: stacked bars over time and a ranked bar list. Small enough that a
// chart library would cost more bytes than it saves.
import { useT } from "../lib/prefs";

const COLORS = ["#4f7cff", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#ec4899", "#84cc16"];

export interface Series {
  name: string;
  values: number[];
}

export function StackedBars({
  title,
  buckets,
  series,
  format = (v) => v.toLocaleString("en-US"),
}: {
  title: string;
  buckets: number[];
  series: Series[];
  format?: (v: number) => string;
}) {
  const t = useT();
  const width = 640;
  const height = 200;
  const pad = 28;
  const totals = buckets.map((_, i) => series.reduce((s, x) => s + (x.values[i] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const barW = buckets.length ? (width - pad) / buckets.length : 0;
  return (
    <figure className="card chart" aria-label={title}>
      <figcaption>{title}</figcaption>
      {series.length === 0 ? (
        <p className="hint">{t("No data in this range")}</p>
      ) : (
        <>
          <svg viewBox={`0 0 ${width} ${height + 18}`} role="img" aria-label={title}>
            <line x1={pad} y1={height} x2={width} y2={height} className="axis" />
            <text x={0} y={10} className="tick">
              {format(max)}
            </text>
            {buckets.map((bucket, i) => {
              let y = height;
              return (
                <g key={bucket}>
                  {series.map((s, k) => {
                    const h = ((s.values[i] ?? 0) / max) * (height - 12);
                    y -= h;
                    return h > 0 ? (
                      <rect
                        key={s.name}
                        x={pad + i * barW + 1}
                        y={y}
                        width={Math.max(1, barW - 2)}
                        height={h}
                        fill={COLORS[k % COLORS.length]}
                      >
                        <title>{`${s.name}: ${format(s.values[i] ?? 0)}`}</title>
                      </rect>
                    ) : null;
                  })}
                  {i % Math.ceil(buckets.length / 6) === 0 ? (
                    <text x={pad + i * barW} y={height + 14} className="tick">
                      {new Date(bucket * 1000).toLocaleString(undefined, {
                        month: "numeric",
                        day: "numeric",
                        hour: "2-digit",
                      })}
                    </text>
                  ) : null}
                </g>
              );
            })}
          </svg>
          <ul className="legend">
            {series.map((s, k) => (
              <li key={s.name}>
                <i style={{ background: COLORS[k % COLORS.length] }} />
                {s.name}
              </li>
            ))}
          </ul>
        </>
      )}
    </figure>
  );
}

export function RankedBars({
  title,
  rows,
  format,
}: {
  title: string;
  rows: { name: string; value: number }[];
  format: (v: number) => string;
}) {
  const t = useT();
  const max = Math.max(1, ...rows.map((r) => r.value));
  return (
    <figure className="card chart" aria-label={title}>
      <figcaption>{title}</figcaption>
      {rows.length === 0 ? <p className="hint">{t("No data in this range")}</p> : null}
      <ol className="ranked">
        {rows.map((r) => (
          <li key={r.name}>
            <span className="ranked-name">{r.name}</span>
            <span className="ranked-bar">
              <i style={{ width: `${(r.value / max) * 100}%` }} />
            </span>
            <span className="ranked-value">{format(r.value)}</span>
          </li>
        ))}
      </ol>
    </figure>
  );
}

/** Every hour from `start` to `end` (Unix seconds), as the dashboard's buckets. */
export function hourBuckets(start: number, end: number): number[] {
  const out: number[] = [];
  for (let h = Math.floor(start / 3600) * 3600; h <= end; h += 3600) out.push(h);
  return out;
}

/** Hourly rows → one series per key over `buckets` (the top 7 keys, the rest as "other"). */
export function seriesBy<T>(
  rows: T[],
  buckets: number[],
  time: (r: T) => number,
  key: (r: T) => string,
  value: (r: T) => number,
): Series[] {
  const index = new Map(buckets.map((b, i) => [b, i]));
  const sums = new Map<string, number>();
  for (const r of rows) sums.set(key(r), (sums.get(key(r)) ?? 0) + value(r));
  const top = [...sums.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k);
  const keep = new Set(top.slice(0, 7));
  const byName = new Map<string, number[]>();
  for (const r of rows) {
    const name = keep.has(key(r)) ? key(r) : "other";
    const at = index.get(Math.floor(time(r) / 3600) * 3600);
    if (at === undefined) continue;
    const values = byName.get(name) ?? new Array(buckets.length).fill(0);
    values[at] += value(r);
    byName.set(name, values);
  }
  const order = [...top.slice(0, 7), "other"];
  return order.filter((n) => byName.has(n)).map((name) => ({ name, values: byName.get(name)! }));
}
