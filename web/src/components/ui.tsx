// Small building blocks shared by the pages.
import { useEffect, useState } from "react";
import type { InputHTMLAttributes, ReactNode } from "react";
import { useT } from "../lib/prefs";

export function ErrorText({ error }: { error: string }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {error}
    </p>
  );
}

export function Notice({ text }: { text: string }) {
  if (!text) return null;
  return (
    <p className="notice" role="status">
      {text}
    </p>
  );
}

export function Field({
  label,
  hint,
  children,
}: {
  label: string;
  hint?: string;
  children: ReactNode;
}) {
  return (
    <label className="field">
      <span className="field-label">{label}</span>
      {children}
      {hint ? <span className="hint">{hint}</span> : null}
    </label>
  );
}

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, "value" | "onChange">;

/** A labelled text input bound to a string state. */
export function TextField({
  label,
  hint,
  value,
  onChange,
  ...input
}: InputProps & { label: string; hint?: string; value: string; onChange: (value: string) => void }) {
  return (
    <Field label={label} hint={hint}>
      <input {...input} value={value} onChange={(e) => onChange(e.target.value)} />
    </Field>
  );
}

/** A form's error line and its primary submit button, right-aligned. */
export function SubmitRow({ action, label }: { action: { busy: boolean; error: string }; label: string }) {
  return (
    <>
      <ErrorText error={action.error} />
      <div className="row end">
        <button type="submit" className="primary" disabled={action.busy}>
          {label}
        </button>
      </div>
    </>
  );
}

/** The overlay, title bar and body shared by modals and drawers; a click outside closes it. */
function Dialog({
  title,
  onClose,
  children,
  drawer,
  wide,
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  drawer?: boolean;
  wide?: boolean;
}) {
  const t = useT();
  const body = (
    <>
      <header className="modal-head">
        <h2>{title}</h2>
        <button type="button" className="ghost" onClick={onClose} aria-label={t("Close")}>
          ×
        </button>
      </header>
      <div className="modal-body">{children}</div>
    </>
  );
  return (
    <div className="overlay" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      {drawer ? (
        <aside className="drawer" role="dialog" aria-label={title}>
          {body}
        </aside>
      ) : (
        <div className={wide ? "modal wide" : "modal"} role="dialog" aria-label={title}>
          {body}
        </div>
      )}
    </div>
  );
}

type DialogProps = { title: string; onClose: () => void; children: ReactNode };

export function Modal({ wide, ...props }: DialogProps & { wide?: boolean }) {
  const { onClose } = props;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  return <Dialog {...props} wide={wide} />;
}

export function Drawer(props: DialogProps) {
  return <Dialog {...props} drawer />;
}

export function Pager({
  page,
  pageSize,
  total,
  onPage,
}: {
  page: number;
  pageSize: number;
  total: number;
  onPage: (page: number) => void;
}) {
  const t = useT();
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return (
    <nav className="pager" aria-label={t("Pagination")}>
      <button type="button" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        ‹ {t("Previous")}
      </button>
      <span>{t("Page {page} of {pages} · {total} total", { page, pages, total })}</span>
      <button type="button" disabled={page >= pages} onClick={() => onPage(page + 1)}>
        {t("Next")} ›
      </button>
    </nav>
  );
}

/** A row's Delete button: asks "Delete {name}?" first. */
export function DeleteButton({ name, onDelete }: { name: string; onDelete: () => unknown }) {
  const t = useT();
  return (
    <button type="button" onClick={() => window.confirm(t("Delete {name}?", { name })) && onDelete()}>
      {t("Delete")}
    </button>
  );
}

export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Without clipboard permission, fall back to a selection copy.
    const area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
}

export function CopyButton({ text, label }: { text: () => Promise<string> | string; label?: string }) {
  const t = useT();
  const [state, setState] = useState<"idle" | "done" | "failed">("idle");
  return (
    <button
      type="button"
      onClick={async () => {
        try {
          await copyText(await text());
          setState("done");
        } catch {
          setState("failed");
        }
        window.setTimeout(() => setState("idle"), 1500);
      }}
    >
      {state === "done" ? t("Copied") : state === "failed" ? t("Copy failed") : (label ?? t("Copy"))}
    </button>
  );
}

export function StatusBadge({ status, labels }: { status: number; labels: Record<number, string> }) {
  const t = useT();
  const cls = status === 1 ? "badge ok" : "badge off";
  return <span className={cls}>{t(labels[status] ?? `#${status}`)}</span>;
}

export function formatTime(seconds: number): string {
  if (!seconds || seconds < 0) return "—";
  const d = new Date(seconds * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `<input type="datetime-local">` value ↔ unix seconds. */
export function toLocalInput(seconds: number): string {
  if (!seconds || seconds < 0) return "";
  const d = new Date(seconds * 1000 - new Date().getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

export function fromLocalInput(text: string): number {
  return text ? Math.floor(new Date(text).getTime() / 1000) : 0;
}
