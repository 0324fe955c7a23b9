// Channels: server-side search, filters and pages; create/edit; test with latency; enable or
// disable one, a selection or a tag; copy; delete one, a selection or all disabled ones.
import { useState } from "react";
import { ChannelForm } from "../components/ChannelForm";
import type { Channel } from "../components/ChannelForm";
import { PageHeader, PagedTable, SearchForm } from "../components/Listing";
import type { Column } from "../components/Listing";
import { DeleteButton, ErrorText, Modal, Notice, StatusBadge, formatTime } from "../components/ui";
import { api, raw } from "../lib/api";
import { CHANNEL_STATUS, CHANNEL_TYPES, typeName } from "../lib/channelTypes";
import { useAction, usePaged, useSelection } from "../lib/hooks";
import { useT } from "../lib/prefs";

interface TestResult {
  success: boolean;
  message: string;
  time: number;
}

export function Channels() {
  const t = useT();
  const [model, setModel] = useState("");
  const [search, setSearch] = useState({ keyword: "", model: "" });
  const [type, setType] = useState("");
  const [status, setStatus] = useState("");
  const [group, setGroup] = useState("");
  const [tagFilter, setTagFilter] = useState("");
  const [tagMode, setTagMode] = useState(false);
  const [editing, setEditing] = useState<Channel | null | undefined>(undefined);
  const [tests, setTests] = useState<Record<number, TestResult>>({});
  const [tag, setTag] = useState("");
  const [notice, setNotice] = useState("");
  const action = useAction();
  const searching = Boolean(search.keyword || search.model);
  const list = usePaged<Channel>(searching ? "/api/channel/search" : "/api/channel/", {
    ...search,
    type,
    status,
    group,
    tag: tagFilter,
    tag_mode: tagMode || undefined,
  });
  const selection = useSelection(list.items);
  const ids = selection.ids;

  const done = (text: string) => {
    setNotice(text);
    selection.clear();
    list.reload();
  };
  const act = (fn: () => Promise<unknown>, text: string) => action.run(fn).then((ok) => ok && done(text));

  const testOne = async (c: Channel) => {
    setTests((all) => ({ ...all, [c.id]: { success: false, message: t("Testing…"), time: 0 } }));
    try {
      const r = await raw<TestResult>("GET", `/api/channel/test/${c.id}`);
      setTests((all) => ({ ...all, [c.id]: r }));
    } catch (e) {
      setTests((all) => ({ ...all, [c.id]: { success: false, message: String(e), time: 0 } }));
    }
  };

  const latency = (c: Channel) => {
    const test = tests[c.id];
    if (test) {
      return (
        <span className={test.success ? "ok" : "bad"} title={test.message}>
          {test.success ? `${test.time.toFixed(2)} s` : test.message || t("Failed")}
        </span>
      );
    }
    return c.response_time ? `${(c.response_time / 1000).toFixed(2)} s` : "—";
  };
  const columns: Column<Channel>[] = [
    { head: "ID", cell: (c) => c.id },
    { head: t("Name"), cell: (c) => c.name },
    { head: t("Type"), cell: (c) => typeName(c.type) },
    { head: t("Status"), cell: (c) => <StatusBadge status={c.status} labels={CHANNEL_STATUS} /> },
    { head: t("Groups"), cell: (c) => c.group },
    { head: t("Tag"), cell: (c) => c.tag },
    { head: t("Priority"), cell: (c) => c.priority ?? 0 },
    { head: t("Weight"), cell: (c) => c.weight ?? 0 },
    { head: t("Latency"), className: "latency", title: (c) => (c.test_time ? formatTime(c.test_time) : ""), cell: latency },
    {
      head: t("Actions"),
      className: "actions",
      cell: (c) => (
        <>
          <button type="button" onClick={() => testOne(c)}>
            {t("Test")}
          </button>
          <button type="button" onClick={() => act(() => api.post(`/api/channel/${c.id}/status`, { status: c.status === 1 ? 2 : 1 }), c.status === 1 ? t("Disabled") : t("Enabled"))}>
            {c.status === 1 ? t("Disable") : t("Enable")}
          </button>
          <button type="button" onClick={() => api.get<Channel>(`/api/channel/${c.id}`).then(setEditing, (e) => action.setError(String(e.message ?? e)))}>
            {t("Edit")}
          </button>
          <button type="button" onClick={() => act(() => api.post(`/api/channel/copy/${c.id}`), t("Copied"))}>
            {t("Copy")}
          </button>
          <DeleteButton name={c.name} onDelete={() => act(() => api.del(`/api/channel/${c.id}`), t("Deleted"))} />
        </>
      ),
    },
  ];

  return (
    <section>
      <PageHeader title={t("Channels")}>
        <div className="row wrap">
          <button type="button" className="primary" onClick={() => setEditing(null)}>
            {t("New channel")}
          </button>
          <button type="button" onClick={() => act(() => api.get("/api/channel/test"), t("Testing all channels in the background"))}>
            {t("Test all")}
          </button>
          <button type="button" onClick={list.reload}>
            {t("Refresh")}
          </button>
          <button
            type="button"
            onClick={() =>
              window.confirm(t("Delete every disabled channel?")) &&
              act(() => api.del("/api/channel/disabled"), t("Disabled channels deleted"))
            }
          >
            {t("Delete disabled")}
          </button>
        </div>
      </PageHeader>
      <SearchForm
        label={t("Search channels")}
        placeholder={t("ID, name or base URL")}
        onSearch={(keyword) => setSearch({ keyword, model: model.trim() })}
        after={
          <>
            <select aria-label={t("Type")} value={type} onChange={(e) => setType(e.target.value)}>
              <option value="">{t("All types")}</option>
              {CHANNEL_TYPES.map((x) => (
                <option key={x.id} value={x.id}>
                  {x.name}
                </option>
              ))}
            </select>
            <select aria-label={t("Status")} value={status} onChange={(e) => setStatus(e.target.value)}>
              <option value="">{t("All statuses")}</option>
              <option value="enabled">{t("Enabled")}</option>
              <option value="disabled">{t("Disabled")}</option>
            </select>
            <input aria-label={t("Group")} placeholder={t("Group")} value={group} onChange={(e) => setGroup(e.target.value.trim())} />
            <input aria-label={t("Filter by tag")} placeholder={t("Tag")} value={tagFilter} onChange={(e) => setTagFilter(e.target.value.trim())} />
            <label className="check">
              <input type="checkbox" checked={tagMode} onChange={(e) => setTagMode(e.target.checked)} />
              {t("Group by tag")}
            </label>
          </>
        }
      >
        <input type="search" aria-label={t("Model")} placeholder={t("Model")} value={model} onChange={(e) => setModel(e.target.value)} />
      </SearchForm>
      <div className="row wrap batch">
        <span>{t("{n} selected", { n: ids.length })}</span>
        <button type="button" disabled={!ids.length} onClick={() => act(() => api.post("/api/channel/status/batch", { ids, status: 1 }), t("Enabled"))}>
          {t("Enable")}
        </button>
        <button type="button" disabled={!ids.length} onClick={() => act(() => api.post("/api/channel/status/batch", { ids, status: 2 }), t("Disabled"))}>
          {t("Disable")}
        </button>
        <button
          type="button"
          disabled={!ids.length}
          onClick={() => window.confirm(t("Delete {n} channels?", { n: ids.length })) && act(() => api.post("/api/channel/batch", { ids }), t("Deleted"))}
        >
          {t("Delete")}
        </button>
        <input aria-label={t("Tag")} placeholder={t("Tag")} value={tag} onChange={(e) => setTag(e.target.value)} />
        <button type="button" disabled={!ids.length} onClick={() => act(() => api.post("/api/channel/batch/tag", { ids, tag: tag.trim() }), t("Tag set"))}>
          {t("Set tag")}
        </button>
        <button type="button" disabled={!tag.trim()} onClick={() => act(() => api.post("/api/channel/tag/enabled", { tag: tag.trim() }), t("Tag enabled"))}>
          {t("Enable tag")}
        </button>
        <button type="button" disabled={!tag.trim()} onClick={() => act(() => api.post("/api/channel/tag/disabled", { tag: tag.trim() }), t("Tag disabled"))}>
          {t("Disable tag")}
        </button>
      </div>
      <ErrorText error={action.error || list.error} />
      <Notice text={notice} />
      <PagedTable
        list={list}
        columns={columns}
        rowAttrs={(c) => ({ "data-channel": c.name })}
        selection={selection}
        selectLabel={(c) => t("Select {name}", { name: c.name })}
        empty={t("No channels")}
      />
      {editing !== undefined ? (
        <Modal wide title={editing ? t("Edit channel #{id}", { id: editing.id }) : t("New channel")} onClose={() => setEditing(undefined)}>
          <ChannelForm
            channel={editing}
            onCancel={() => setEditing(undefined)}
            onSaved={() => {
              setEditing(undefined);
              done(t("Saved"));
            }}
          />
        </Modal>
      ) : null}
    </section>
  );
}
