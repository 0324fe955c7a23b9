// Redemption codes (admin): generate in batches, copy, disable, delete one or every invalid one.
import { useState } from "react";
import { PageHeader, PagedTable, SearchForm } from "../components/Listing";
import type { Column } from "../components/Listing";
import { CopyButton, DeleteButton, ErrorText, Modal, Notice, StatusBadge, SubmitRow, TextField, formatTime, fromLocalInput } from "../components/ui";
import { api } from "../lib/api";
import { useAction, usePaged } from "../lib/hooks";
import { useT } from "../lib/prefs";
import { formatQuota, parseQuota, quotaUnit } from "../lib/quota";
import { useSession } from "../lib/session";

interface Code {
  id: number;
  key: string;
  name: string;
  status: number;
  quota: number;
  created_time: number;
  redeemed_time: number;
  used_user_id: number;
  expired_time: number;
}

const CODE_STATUS: Record<number, string> = { 1: "Unused", 2: "Disabled", 3: "Used" };

function Generate({ onDone }: { onDone: (keys: string[]) => void }) {
  const t = useT();
  const { display } = useSession();
  const [name, setName] = useState("");
  const [quota, setQuota] = useState("");
  const [count, setCount] = useState("1");
  const [expires, setExpires] = useState("");
  const save = useAction();
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const q = parseQuota(quota, display);
    const n = Number(count);
    if (!name.trim() || name.trim().length > 20) return save.setError(t("Name needs 1 to 20 characters"));
    if (q === null || q <= 0) return save.setError(t("Quota must be a number > 0"));
    if (!Number.isInteger(n) || n < 1 || n > 100) return save.setError(t("Count must be 1 to 100"));
    let keys: string[] = [];
    const ok = await save.run(async () => {
      keys = await api.post<string[]>("/api/redemption/", {
        name: name.trim(),
        quota: q,
        count: n,
        expired_time: fromLocalInput(expires),
      });
    });
    if (ok) onDone(keys);
  };
  return (
    <form className="form" onSubmit={submit} aria-label={t("Generate codes")}>
      <TextField label={t("Name")} name="name" maxLength={20} value={name} onChange={setName} />
      <TextField label={t("Quota per code ({unit})", { unit: quotaUnit(display) })} name="quota" inputMode="decimal" value={quota} onChange={setQuota} />
      <TextField label={t("How many (1–100)")} name="count" inputMode="numeric" value={count} onChange={setCount} />
      <TextField label={t("Expires (empty = never)")} type="datetime-local" value={expires} onChange={setExpires} />
      <SubmitRow action={save} label={t("Generate")} />
    </form>
  );
}

export function Redemptions() {
  const t = useT();
  const { display } = useSession();
  const [search, setSearch] = useState("");
  const [creating, setCreating] = useState(false);
  const [fresh, setFresh] = useState<string[]>([]);
  const [notice, setNotice] = useState("");
  const action = useAction();
  const list = usePaged<Code>(search ? "/api/redemption/search" : "/api/redemption/", { keyword: search });
  const act = (fn: () => Promise<unknown>) => action.run(fn).then((ok) => ok && list.reload());
  const setStatus = (c: Code, status: number) => act(() => api.put("/api/redemption/?status_only=1", { id: c.id, status }));
  const columns: Column<Code>[] = [
    { head: "ID", cell: (c) => c.id },
    { head: t("Name"), cell: (c) => c.name },
    { head: t("Status"), cell: (c) => <StatusBadge status={c.status} labels={CODE_STATUS} /> },
    { head: t("Quota"), cell: (c) => formatQuota(c.quota, display) },
    { head: t("Created"), cell: (c) => formatTime(c.created_time) },
    { head: t("Redeemed"), cell: (c) => (c.redeemed_time ? `${formatTime(c.redeemed_time)} · #${c.used_user_id}` : "—") },
    { head: t("Expires"), cell: (c) => (c.expired_time ? formatTime(c.expired_time) : t("Never")) },
    {
      head: t("Actions"),
      className: "actions",
      cell: (c) => (
        <>
          <CopyButton text={() => c.key} />
          {c.status === 1 ? (
            <button type="button" onClick={() => setStatus(c, 2)}>
              {t("Disable")}
            </button>
          ) : c.status === 2 ? (
            <button type="button" onClick={() => setStatus(c, 1)}>
              {t("Enable")}
            </button>
          ) : null}
          <DeleteButton name={c.name} onDelete={() => act(() => api.del(`/api/redemption/${c.id}`))} />
        </>
      ),
    },
  ];

  return (
    <section>
      <PageHeader title={t("Redemption codes")}>
        <div className="row">
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            {t("Generate codes")}
          </button>
          <button
            type="button"
            onClick={() =>
              action.run(async () => {
                const n = await api.del<number>("/api/redemption/invalid");
                setNotice(t("{n} invalid codes deleted", { n }));
                list.reload();
              })
            }
          >
            {t("Delete invalid")}
          </button>
        </div>
      </PageHeader>
      <SearchForm label={t("Search codes")} placeholder={t("ID or name")} onSearch={setSearch} />
      <ErrorText error={action.error || list.error} />
      <Notice text={notice} />
      {fresh.length ? (
        <div className="card">
          <p>{t("{n} new codes", { n: fresh.length })}</p>
          <pre className="mono">{fresh.join("\n")}</pre>
          <CopyButton text={() => fresh.join("\n")} label={t("Copy all")} />
        </div>
      ) : null}
      <PagedTable list={list} columns={columns} />
      {creating ? (
        <Modal title={t("Generate codes")} onClose={() => setCreating(false)}>
          <Generate
            onDone={(keys) => {
              setCreating(false);
              setFresh(keys);
              list.reload();
            }}
          />
        </Modal>
      ) : null}
    </section>
  );
}
