// Create or edit a channel. Fields follow the channel type (default base URL, key hint); the
// model picker is filled from the upstream's model list; mapping and overrides are checked JSON.
import { useState } from "react";
import { api } from "../lib/api";
import { CHANNEL_TYPES } from "../lib/channelTypes";
import { useAction } from "../lib/hooks";
import { useT } from "../lib/prefs";
import { JsonField, jsonProblem } from "./JsonField";
import { ErrorText, Field } from "./ui";

export interface Channel {
  id: number;
  type: number;
  name: string;
  status: number;
  base_url?: string | null;
  models: string;
  group: string;
  priority?: number | null;
  weight?: number | null;
  tag?: string | null;
  model_mapping?: string | null;
  param_override?: string | null;
  header_override?: string | null;
  status_code_mapping?: string | null;
  test_model?: string | null;
  auto_ban?: number | null;
  remark?: string | null;
  response_time?: number;
  test_time?: number;
  balance?: number;
}

interface Draft {
  type: number;
  name: string;
  key: string;
  base_url: string;
  models: string[];
  group: string;
  priority: string;
  weight: string;
  tag: string;
  test_model: string;
  model_mapping: string;
  status_code_mapping: string;
  param_override: string;
  header_override: string;
  auto_ban: boolean;
  batch: boolean;
}

function draftOf(c: Channel | null): Draft {
  return {
    type: c?.type ?? 1,
    name: c?.name ?? "",
    key: "",
    base_url: c?.base_url ?? "",
    models: (c?.models ?? "").split(",").map((m) => m.trim()).filter(Boolean),
    group: c?.group ?? "default",
    priority: String(c?.priority ?? 0),
    weight: String(c?.weight ?? 0),
    tag: c?.tag ?? "",
    test_model: c?.test_model ?? "",
    model_mapping: c?.model_mapping ?? "",
    status_code_mapping: c?.status_code_mapping ?? "",
    param_override: c?.param_override ?? "",
    header_override: c?.header_override ?? "",
    auto_ban: (c?.auto_ban ?? 1) === 1,
    batch: false,
  };
}

/** What stops the draft from being saved (English, for t()), or "". */
export function draftProblem(d: Draft, creating: boolean): string {
  const type = CHANNEL_TYPES.find((t) => t.id === d.type);
  if (!d.name.trim()) return "Name is required";
  if (creating && !d.key.trim()) return "Key is required";
  if (type && !type.baseUrl && !d.base_url.trim()) return "This channel type needs a base URL";
  if (d.base_url.trim() && !/^https?:\/\//.test(d.base_url.trim())) return "Base URL must start with http:// or https://";
  if (d.models.length === 0) return "Pick at least one model";
  if (!/^-?\d+$/.test(d.priority.trim())) return "Priority must be an integer";
  if (!/^\d+$/.test(d.weight.trim())) return "Weight must be an integer ≥ 0";
  const jsonFields: [string, string, "object" | "string-map"][] = [
    ["Model mapping", d.model_mapping, "string-map"],
    ["Status code mapping", d.status_code_mapping, "string-map"],
    ["Parameter override", d.param_override, "object"],
    ["Header override", d.header_override, "string-map"],
  ];
  for (const [label, text, kind] of jsonFields) {
    if (jsonProblem(text, kind)) return `${label}: ${jsonProblem(text, kind)}`;
  }
  return "";
}

export function ChannelForm({
  channel,
  onSaved,
  onCancel,
}: {
  channel: Channel | null;
  onSaved: () => void;
  onCancel: () => void;
}) {
  const t = useT();
  const creating = channel === null;
  const [d, setD] = useState<Draft>(() => draftOf(channel));
  const [fetched, setFetched] = useState<string[]>([]);
  const [custom, setCustom] = useState("");
  const save = useAction();
  const fetcher = useAction();
  const type = CHANNEL_TYPES.find((x) => x.id === d.type);
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setD((old) => ({ ...old, [key]: value }));
  const problem = draftProblem(d, creating);

  const addModels = (names: string[]) =>
    set("models", [...new Set([...d.models, ...names.map((n) => n.trim()).filter(Boolean)])]);

  const fetchModels = () =>
    fetcher.run(async () => {
      const list =
        !creating && !d.key.trim()
          ? await api.get<string[]>(`/api/channel/fetch_models/${channel!.id}`)
          : await api.post<string[]>("/api/channel/fetch_models", {
              base_url: d.base_url.trim() || type?.baseUrl || "",
              type: d.type,
              key: d.key.split("\n")[0].trim(),
            });
      setFetched(list);
    });

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (problem) return save.setError(t(problem));
    const fields = {
      type: d.type,
      name: d.name.trim(),
      base_url: d.base_url.trim(),
      models: d.models.join(","),
      group: d.group.trim() || "default",
      priority: Number(d.priority),
      weight: Number(d.weight),
      tag: d.tag.trim(),
      test_model: d.test_model.trim(),
      model_mapping: d.model_mapping.trim(),
      status_code_mapping: d.status_code_mapping.trim(),
      param_override: d.param_override.trim(),
      header_override: d.header_override.trim(),
      auto_ban: d.auto_ban ? 1 : 0,
    };
    const ok = await save.run(() =>
      creating
        ? api.post("/api/channel/", {
            mode: d.batch ? "batch" : "single",
            channel: { ...fields, key: d.key.trim() },
          })
        : api.put("/api/channel/", { id: channel!.id, ...fields, ...(d.key.trim() ? { key: d.key.trim() } : {}) }),
    );
    if (ok) onSaved();
  };

  return (
    <form className="form" onSubmit={submit} aria-label={t("Channel")}>
      <div className="grid2">
        <Field label={t("Type")}>
          <select name="type" value={d.type} onChange={(e) => set("type", Number(e.target.value))}>
            {CHANNEL_TYPES.map((x) => (
              <option key={x.id} value={x.id}>
                {x.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t("Name")}>
          <input name="name" value={d.name} onChange={(e) => set("name", e.target.value)} />
        </Field>
      </div>
      <Field
        label={type && !type.baseUrl ? t("Base URL (required)") : t("Base URL")}
        hint={type?.baseUrl ? t("Empty uses {url}", { url: type.baseUrl }) : undefined}
      >
        <input name="base_url" value={d.base_url} placeholder={type?.baseUrl || "https://…"} onChange={(e) => set("base_url", e.target.value)} />
      </Field>
      <Field label={creating ? t("Key") : t("Key (empty keeps the current one)")} hint={t(type?.keyHint ?? "")}>
        <textarea name="key" className="mono" rows={d.batch ? 4 : 1} value={d.key} onChange={(e) => set("key", e.target.value)} />
      </Field>
      {creating ? (
        <label className="check">
          <input type="checkbox" checked={d.batch} onChange={(e) => set("batch", e.target.checked)} />
          {t("Batch: one channel per key line")}
        </label>
      ) : null}
      <fieldset className="models">
        <legend>{t("Models")}</legend>
        <div className="chips" aria-label={t("Selected models")}>
          {d.models.map((m) => (
            <span className="chip" key={m}>
              {m}
              <button type="button" className="ghost" aria-label={t("Remove {name}", { name: m })} onClick={() => set("models", d.models.filter((x) => x !== m))}>
                ×
              </button>
            </span>
          ))}
          {d.models.length === 0 ? <span className="hint">{t("No models yet")}</span> : null}
        </div>
        <div className="row wrap">
          <input
            aria-label={t("Add models")}
            placeholder="model-a, model-b"
            value={custom}
            onChange={(e) => setCustom(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter") {
                e.preventDefault();
                addModels(custom.split(","));
                setCustom("");
              }
            }}
          />
          <button
            type="button"
            onClick={() => {
              addModels(custom.split(","));
              setCustom("");
            }}
          >
            {t("Add")}
          </button>
          <button type="button" onClick={fetchModels} disabled={fetcher.busy}>
            {t("Fetch from upstream")}
          </button>
          {d.models.length ? (
            <button type="button" className="ghost" onClick={() => set("models", [])}>
              {t("Clear")}
            </button>
          ) : null}
        </div>
        <ErrorText error={fetcher.error} />
        {fetched.length ? (
          <div className="picker" aria-label={t("Upstream models")}>
            <button type="button" onClick={() => addModels(fetched)}>
              {t("Add all {n}", { n: fetched.length })}
            </button>
            {fetched.map((m) => (
              <label className="check" key={m}>
                <input
                  type="checkbox"
                  checked={d.models.includes(m)}
                  onChange={(e) => (e.target.checked ? addModels([m]) : set("models", d.models.filter((x) => x !== m)))}
                />
                {m}
              </label>
            ))}
          </div>
        ) : null}
      </fieldset>
      <div className="grid3">
        <Field label={t("Groups")} hint={t("Comma-separated")}>
          <input name="group" value={d.group} onChange={(e) => set("group", e.target.value)} />
        </Field>
        <Field label={t("Priority")}>
          <input name="priority" inputMode="numeric" value={d.priority} onChange={(e) => set("priority", e.target.value)} />
        </Field>
        <Field label={t("Weight")}>
          <input name="weight" inputMode="numeric" value={d.weight} onChange={(e) => set("weight", e.target.value)} />
        </Field>
        <Field label={t("Tag")}>
          <input name="tag" value={d.tag} onChange={(e) => set("tag", e.target.value)} />
        </Field>
        <Field label={t("Test model")}>
          <input name="test_model" value={d.test_model} onChange={(e) => set("test_model", e.target.value)} />
        </Field>
        <label className="check">
          <input type="checkbox" checked={d.auto_ban} onChange={(e) => set("auto_ban", e.target.checked)} />
          {t("Auto-disable on failures")}
        </label>
      </div>
      <JsonField label={t("Model mapping")} name="model_mapping" kind="string-map" value={d.model_mapping} placeholder='{"gpt-4o": "gpt-4o-2024-08-06"}' onChange={(v) => set("model_mapping", v)} />
      <JsonField label={t("Status code mapping")} name="status_code_mapping" kind="string-map" value={d.status_code_mapping} placeholder='{"400": "500"}' onChange={(v) => set("status_code_mapping", v)} />
      <JsonField label={t("Parameter override")} name="param_override" value={d.param_override} placeholder='{"temperature": 0}' onChange={(v) => set("param_override", v)} />
      <JsonField label={t("Header override")} name="header_override" kind="string-map" value={d.header_override} placeholder='{"X-Org": "…"}' onChange={(v) => set("header_override", v)} />
      <ErrorText error={save.error} />
      <div className="row end">
        <button type="button" onClick={onCancel}>
          {t("Cancel")}
        </button>
        <button type="submit" className="primary" disabled={save.busy}>
          {creating ? t("Create channel") : t("Save channel")}
        </button>
      </div>
    </form>
  );
}
