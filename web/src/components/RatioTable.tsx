// A table editor for one ratio or price map ({model: number}), with a raw JSON view.
import { useMemo, useState } from "react";
import { useT } from "../lib/prefs";

export interface RatioRow {
  name: string;
  value: string;
}

export function rowsFromJson(text: string): RatioRow[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text || "{}");
  } catch {
    return [];
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return [];
  return Object.entries(parsed as Record<string, unknown>)
    .map(([name, value]) => ({ name, value: String(value) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Row problems by index (English, for t()); empty when the table can be saved. */
export function rowProblems(rows: RatioRow[]): Map<number, string> {
  const problems = new Map<number, string>();
  const seen = new Set<string>();
  rows.forEach((row, i) => {
    const name = row.name.trim();
    if (!name) problems.set(i, "Name is required");
    else if (seen.has(name)) problems.set(i, "Duplicate name");
    else if (!/^\d+(\.\d+)?(e[-+]?\d+)?$/i.test(row.value.trim())) {
      problems.set(i, "Must be a number ≥ 0");
    }
    seen.add(name);
  });
  return problems;
}

export function rowsToJson(rows: RatioRow[]): string {
  const out: Record<string, number> = {};
  for (const row of rows) out[row.name.trim()] = Number(row.value.trim());
  return JSON.stringify(out, null, 2);
}

export function RatioTable({
  title,
  initial,
  onSave,
  busy,
}: {
  title: string;
  initial: string;
  onSave: (json: string) => void;
  busy?: boolean;
}) {
  const t = useT();
  const [rows, setRows] = useState<RatioRow[]>(() => rowsFromJson(initial));
  const [filter, setFilter] = useState("");
  const [rawMode, setRawMode] = useState(false);
  const [rawText, setRawText] = useState("");
  const [rawError, setRawError] = useState("");
  const problems = useMemo(() => rowProblems(rows), [rows]);
  const shown = rows
    .map((row, index) => ({ row, index }))
    .filter(({ row }) => !filter || row.name.toLowerCase().includes(filter.toLowerCase()));
  const update = (index: number, patch: Partial<RatioRow>) =>
    setRows((all) => all.map((r, i) => (i === index ? { ...r, ...patch } : r)));

  const toRaw = () => {
    setRawText(rowsToJson(rows));
    setRawError("");
    setRawMode(true);
  };
  const fromRaw = () => {
    try {
      const parsed = JSON.parse(rawText);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error();
    } catch {
      setRawError(t("Must be a JSON object"));
      return;
    }
    setRows(rowsFromJson(rawText));
    setRawMode(false);
  };

  return (
    <section className="card ratio-table" aria-label={title}>
      <header className="row between">
        <h3>{title}</h3>
        <div className="row">
          {rawMode ? (
            <button type="button" onClick={fromRaw}>
              {t("Table view")}
            </button>
          ) : (
            <button type="button" onClick={toRaw}>
              {t("JSON view")}
            </button>
          )}
        </div>
      </header>
      {rawMode ? (
        <>
          <textarea
            className="mono"
            rows={12}
            value={rawText}
            aria-label={`${title} JSON`}
            onChange={(e) => setRawText(e.target.value)}
          />
          {rawError ? <p className="error">{rawError}</p> : null}
        </>
      ) : (
        <>
          <div className="row">
            <input
              type="search"
              placeholder={t("Filter models")}
              aria-label={t("Filter models")}
              value={filter}
              onChange={(e) => setFilter(e.target.value)}
            />
            <button
              type="button"
              onClick={() => {
                setFilter("");
                setRows((all) => [{ name: "", value: "1" }, ...all]);
              }}
            >
              {t("Add row")}
            </button>
          </div>
          <div className="table-scroll short">
            <table>
              <thead>
                <tr>
                  <th>{t("Name")}</th>
                  <th>{t("Value")}</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {shown.slice(0, 200).map(({ row, index }) => (
                  <tr key={index}>
                    <td>
                      <input
                        aria-label={t("Name")}
                        value={row.name}
                        onChange={(e) => update(index, { name: e.target.value })}
                      />
                    </td>
                    <td>
                      <input
                        aria-label={`${row.name} ${t("Value")}`}
                        className={problems.has(index) ? "invalid" : ""}
                        inputMode="decimal"
                        value={row.value}
                        onChange={(e) => update(index, { value: e.target.value })}
                      />
                      {problems.has(index) ? (
                        <span className="error">{t(problems.get(index) ?? "")}</span>
                      ) : null}
                    </td>
                    <td>
                      <button
                        type="button"
                        className="ghost"
                        aria-label={t("Remove")}
                        onClick={() => setRows((all) => all.filter((_, i) => i !== index))}
                      >
                        ×
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {shown.length > 200 ? (
            <p className="hint">{t("Showing 200 of {n}; filter to find others", { n: shown.length })}</p>
          ) : null}
        </>
      )}
      <div className="row">
        <button
          type="button"
          className="primary"
          disabled={busy || (!rawMode && problems.size > 0)}
          onClick={() => {
            if (rawMode) {
              fromRaw();
              try {
                onSave(JSON.stringify(JSON.parse(rawText), null, 2));
              } catch {
                return;
              }
            } else {
              onSave(rowsToJson(rows));
            }
          }}
        >
          {t("Save {name}", { name: title })}
        </button>
      </div>
    </section>
  );
}
