// The caller's API keys: create/edit, reveal and copy the key, enable/disable, delete (one or a
// selection), remaining and used quota.
import { useState } from "react";
import { TokenForm } from "../components/TokenForm";
import type { Token } from "../components/TokenForm";
import { PageHeader, PagedTable, SearchForm } from "../components/Listing";
import type { Column } from "../components/Listing";
import { CopyButton, DeleteButton, ErrorText, Modal, StatusBadge, formatTime } from "../components/ui";
import { api } from "../lib/api";
import { useAction, usePaged, useSelection } from "../lib/hooks";
import { useT } from "../lib/prefs";
import { formatQuota } from "../lib/quota";
import { useSession } from "../lib/session";

const TOKEN_STATUS: Record<number, string> = { 1: "Enabled", 2: "Disabled", 3: "Expired", 4: "Exhausted" };

async function fullKey(id: number): Promise<string> {
  const { key } = await api.post<{ key: string }>(`/api/token/${id}/key`);
  return `sk-${key}`;
}

export function Tokens() {
  const t = useT();
  const { display } = useSession();
  const [search, setSearch] = useState("");
  const [revealed, setRevealed] = useState<Record<number, string>>({});
  const [editing, setEditing] = useState<Token | null | undefined>(undefined);
  const action = useAction();
  const list = usePaged<Token>(search ? "/api/token/search" : "/api/token/", { keyword: search });
  const selection = useSelection(list.items);
  const ids = selection.ids;
  const after = (ok: boolean) => {
    if (!ok) return;
    selection.clear();
    list.reload();
  };
  const keyCell = (tok: Token) => (
    <>
      <span data-testid="token-key">{revealed[tok.id] ?? `sk-${tok.key}`}</span>
      <button
        type="button"
        className="ghost"
        onClick={() =>
          revealed[tok.id]
            ? setRevealed(({ [tok.id]: _, ...rest }) => rest)
            : action.run(async () => {
                const key = await fullKey(tok.id);
                setRevealed((all) => ({ ...all, [tok.id]: key }));
              })
        }
      >
        {revealed[tok.id] ? t("Hide") : t("Reveal")}
      </button>
      <CopyButton text={() => revealed[tok.id] ?? fullKey(tok.id)} label={t("Copy key")} />
    </>
  );
  const columns: Column<Token>[] = [
    { head: t("Name"), cell: (tok) => tok.name },
    { head: t("Status"), cell: (tok) => <StatusBadge status={tok.status} labels={TOKEN_STATUS} /> },
    { head: t("Key"), className: "mono key-cell", cell: keyCell },
    { head: t("Remaining"), cell: (tok) => (tok.unlimited_quota ? t("Unlimited") : formatQuota(tok.remain_quota, display)) },
    { head: t("Used"), cell: (tok) => formatQuota(tok.used_quota, display) },
    { head: t("Group"), cell: (tok) => tok.group || t("default") },
    { head: t("Expires"), cell: (tok) => (tok.expired_time === -1 ? t("Never") : formatTime(tok.expired_time)) },
    {
      head: t("Actions"),
      className: "actions",
      cell: (tok) => (
        <>
          <button
            type="button"
            onClick={() =>
              action
                .run(() => api.put("/api/token/?status_only=1", { id: tok.id, status: tok.status === 1 ? 2 : 1 }))
                .then(after)
            }
          >
            {tok.status === 1 ? t("Disable") : t("Enable")}
          </button>
          <button type="button" onClick={() => setEditing(tok)}>
            {t("Edit")}
          </button>
          <DeleteButton name={tok.name} onDelete={() => action.run(() => api.del(`/api/token/${tok.id}`)).then(after)} />
        </>
      ),
    },
  ];

  return (
    <section>
      <PageHeader title={t("Tokens")}>
        <button type="button" className="primary" onClick={() => setEditing(null)}>
          {t("New token")}
        </button>
      </PageHeader>
      <SearchForm
        label={t("Search tokens")}
        placeholder={t("Token name")}
        onSearch={setSearch}
        after={
          <button
            type="button"
            disabled={!ids.length}
            onClick={() => window.confirm(t("Delete {n} tokens?", { n: ids.length })) && action.run(() => api.post("/api/token/batch", { ids })).then(after)}
          >
            {t("Delete selected ({n})", { n: ids.length })}
          </button>
        }
      />
      <ErrorText error={action.error || list.error} />
      <PagedTable
        list={list}
        columns={columns}
        rowAttrs={(tok) => ({ "data-token": tok.name })}
        selection={selection}
        selectLabel={(tok) => t("Select {name}", { name: tok.name })}
        empty={t("No tokens")}
      />
      {editing !== undefined ? (
        <Modal title={editing ? t("Edit token") : t("New token")} onClose={() => setEditing(undefined)}>
          <TokenForm
            token={editing}
            onCancel={() => setEditing(undefined)}
            onSaved={() => {
              setEditing(undefined);
              list.reload();
            }}
          />
        </Modal>
      ) : null}
    </section>
  );
}
