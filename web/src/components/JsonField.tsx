// A JSON text area that says at once what is wrong with its value.
import { useT } from "../lib/prefs";

export type JsonKind = "object" | "string-map" | "int-map";

/** "" when `text` is empty or valid for `kind`, else the reason (in English, for t()). */
export function jsonProblem(text: string, kind: JsonKind): string {
  if (!text.trim()) return "";
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "Not valid JSON";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "Must be a JSON object";
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (kind === "string-map" && entries.some(([, v]) => typeof v !== "string")) {
    return "Every value must be a string";
  }
  if (kind === "int-map" && entries.some(([, v]) => typeof v !== "number" && typeof v !== "string")) {
    return "Every value must be a number or string";
  }
  return "";
}

export function JsonField({
  label,
  value,
  onChange,
  kind = "object",
  placeholder,
  name,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  kind?: JsonKind;
  placeholder?: string;
  name?: string;
}) {
  const t = useT();
  const problem = jsonProblem(value, kind);
  return (
    <label className="field">
      <span className="field-label">{label}</span>
      <textarea
        name={name}
        className={problem ? "mono invalid" : "mono"}
        rows={3}
        value={value}
        placeholder={placeholder}
        aria-invalid={problem ? true : undefined}
        onChange={(e) => onChange(e.target.value)}
      />
      {problem ? (
        <span className="error" role="alert">
          {t(problem)}
        </span>
      ) : null}
    </label>
  );
}
