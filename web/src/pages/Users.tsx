// Users (admin): search, create, edit, promote/demote, enable/disable, add quota.
import { useState } from "react";
import { PageHeader, PagedTable, SearchForm } from "../components/Listing";
import type { Column } from "../components/Listing";
import { DeleteButton, ErrorText, Field, Modal, StatusBadge, SubmitRow, TextField } from "../components/ui";
import { api } from "../lib/api";
import { useAction, usePaged } from "../lib/hooks";
import { useT } from "../lib/prefs";
import { formatQuota, parseQuota, quotaUnit } from "../lib/quota";
import { useSession } from "../lib/session";
import type { Self } from "../lib/session";

type User = Self & { remark?: string };

const ROLES: Record<number, string> = { 1: "User", 10: "Admin", 100: "Root" };
const USER_STATUS: Record<number, string> = { 1: "Enabled", 2: "Disabled" };

function UserForm({ user, onDone }: { user: User | null; onDone: () => void }) {
  const t = useT();
  const { isRoot } = useSession();
  const [username, setUsername] = useState(user?.username ?? "");
  const [displayName, setDisplayName] = useState(user?.display_name ?? "");
  const [password, setPassword] = useState("");
  const [group, setGroup] = useState(user?.group ?? "default");
  const [remark, setRemark] = useState(user?.remark ?? "");
  const [role, setRole] = useState(1);
  const save = useAction();
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!user && password.length < 8) return save.setError(t("The password needs at least 8 characters"));
    const ok = await save.run(() =>
      user
        ? api.put("/api/user/", {
            id: user.id,
            username,
            display_name: displayName,
            group,
            remark,
            ...(password ? { password } : {}),
          })
        : api.post("/api/user/", { username, password, display_name: displayName, role }),
    );
    if (ok) onDone();
  };
  return (
    <form className="form" onSubmit={submit} aria-label={t("User")}>
      <TextField label={t("Username")} name="username" maxLength={20} value={username} onChange={setUsername} required />
      <TextField label={t("Display name")} name="display_name" value={displayName} onChange={setDisplayName} />
      <TextField
        label={user ? t("New password (empty keeps it)") : t("Password")}
        name="password"
        type="password"
        autoComplete="new-password"
        value={password}
        onChange={setPassword}
      />
      {user ? (
        <>
          <TextField label={t("Group")} name="group" value={group} onChange={setGroup} />
          <TextField label={t("Remark")} name="remark" value={remark} onChange={setRemark} />
        </>
      ) : (
        <Field label={t("Role")}>
          <select value={role} onChange={(e) => setRole(Number(e.target.value))}>
            <option value={1}>{t("User")}</option>
            {isRoot ? <option value={10}>{t("Admin")}</option> : null}
          </select>
        </Field>
      )}
      <SubmitRow action={save} label={user ? t("Save user") : t("Create user")} />
    </form>
  );
}

function QuotaForm({ user, onDone }: { user: User; onDone: () => void }) {
  const t = useT();
  const { display } = useSession();
  const [amount, setAmount] = useState("");
  const [mode, setMode] = useState("add");
  const save = useAction();
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const value = parseQuota(amount, display);
    if (value === null) return save.setError(t("Quota must be a number ≥ 0"));
    if (await save.run(() => api.post("/api/user/manage", { id: user.id, action: "add_quota", mode, value }))) onDone();
  };
  return (
    <form className="form" onSubmit={submit} aria-label={t("Quota")}>
      <p>
        {t("Current balance")}: <strong>{formatQuota(user.quota, display)}</strong>
      </p>
      <Field label={t("Change")}>
        <select value={mode} onChange={(e) => setMode(e.target.value)}>
          <option value="add">{t("Add")}</option>
          <option value="subtract">{t("Subtract")}</option>
          <option value="override">{t("Set to")}</option>
        </select>
      </Field>
      <TextField label={t("Amount ({unit})", { unit: quotaUnit(display) })} name="amount" inputMode="decimal" value={amount} onChange={setAmount} />
      <SubmitRow action={save} label={t("Apply")} />
    </form>
  );
}

export function Users() {
  const t = useT();
  const { display, user: me } = useSession();
  const [search, setSearch] = useState("");
  const [role, setRole] = useState("");
  const [editing, setEditing] = useState<User | null | undefined>(undefined);
  const [quotaFor, setQuotaFor] = useState<User | null>(null);
  const action = useAction();
  const filtered = Boolean(search || role);
  const list = usePaged<User>(filtered ? "/api/user/search" : "/api/user/", { keyword: search, role });
  const manage = (u: User, act: string) =>
    action.run(() => api.post("/api/user/manage", { id: u.id, action: act })).then((ok) => ok && list.reload());
  const actions = (u: User) => {
    const manageable = me !== null && (me.role === 100 || u.role < me.role) && u.id !== me.id;
    if (!manageable) return null;
    return (
      <>
        <button type="button" onClick={() => setEditing(u)}>
          {t("Edit")}
        </button>
        <button type="button" onClick={() => setQuotaFor(u)}>
          {t("Add quota")}
        </button>
        <button type="button" onClick={() => manage(u, u.status === 1 ? "disable" : "enable")}>
          {u.status === 1 ? t("Disable") : t("Enable")}
        </button>
        {u.role === 1 && me?.role === 100 ? (
          <button type="button" onClick={() => manage(u, "promote")}>
            {t("Promote")}
          </button>
        ) : null}
        {u.role === 10 ? (
          <button type="button" onClick={() => manage(u, "demote")}>
            {t("Demote")}
          </button>
        ) : null}
        <DeleteButton name={u.username} onDelete={() => manage(u, "delete")} />
      </>
    );
  };
  const columns: Column<User>[] = [
    { head: "ID", cell: (u) => u.id },
    {
      head: t("Username"),
      cell: (u) => (
        <>
          {u.username}
          {u.display_name && u.display_name !== u.username ? <span className="hint"> ({u.display_name})</span> : null}
        </>
      ),
    },
    { head: t("Role"), cell: (u) => t(ROLES[u.role] ?? String(u.role)) },
    { head: t("Status"), cell: (u) => <StatusBadge status={u.status} labels={USER_STATUS} /> },
    { head: t("Group"), cell: (u) => u.group },
    { head: t("Balance"), cell: (u) => formatQuota(u.quota, display) },
    { head: t("Used"), cell: (u) => formatQuota(u.used_quota, display) },
    { head: t("Requests"), cell: (u) => u.request_count },
    { head: t("Actions"), className: "actions", cell: actions },
  ];

  return (
    <section>
      <PageHeader title={t("Users")}>
        <button type="button" className="primary" onClick={() => setEditing(null)}>
          {t("New user")}
        </button>
      </PageHeader>
      <SearchForm label={t("Search users")} placeholder={t("ID, username, display name or e-mail")} onSearch={setSearch}>
        <select aria-label={t("Role")} value={role} onChange={(e) => setRole(e.target.value)}>
          <option value="">{t("All roles")}</option>
          {Object.entries(ROLES).map(([value, label]) => (
            <option key={value} value={value}>
              {t(label)}
            </option>
          ))}
        </select>
      </SearchForm>
      <ErrorText error={action.error || list.error} />
      <PagedTable list={list} columns={columns} rowAttrs={(u) => ({ "data-user": u.username })} />
      {editing !== undefined ? (
        <Modal title={editing ? t("Edit user") : t("New user")} onClose={() => setEditing(undefined)}>
          <UserForm
            user={editing}
            onDone={() => {
              setEditing(undefined);
              list.reload();
            }}
          />
        </Modal>
      ) : null}
      {quotaFor ? (
        <Modal title={t("Quota of {name}", { name: quotaFor.username })} onClose={() => setQuotaFor(null)}>
          <QuotaForm
            user={quotaFor}
            onDone={() => {
              setQuotaFor(null);
              list.reload();
            }}
          />
        </Modal>
      ) : null}
    </section>
  );
}
