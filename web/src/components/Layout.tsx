// The signed-in frame: navigation (a drawer on phones), language and theme switches, sign-out.
import { useState } from "react";
import type { ReactNode } from "react";
import { Link, useLocation } from "wouter";
import { usePrefs } from "../lib/prefs";
import { useSession } from "../lib/session";

const LINKS: { to: string; label: string; level: "user" | "admin" | "root" }[] = [
  { to: "/", label: "Dashboard", level: "user" },
  { to: "/channels", label: "Channels", level: "admin" },
  { to: "/tokens", label: "Tokens", level: "user" },
  { to: "/users", label: "Users", level: "admin" },
  { to: "/logs", label: "Logs", level: "user" },
  { to: "/redemptions", label: "Redemption codes", level: "admin" },
  { to: "/settings", label: "Settings", level: "root" },
  { to: "/profile", label: "Personal settings", level: "user" },
];

export function Layout({ children }: { children: ReactNode }) {
  const { t, lang, setLang, theme, setTheme } = usePrefs();
  const { user, isAdmin, isRoot, signOut, status } = useSession();
  const [location, navigate] = useLocation();
  const [open, setOpen] = useState(false);
  const visible = LINKS.filter(
    (l) => l.level === "user" || (l.level === "admin" ? isAdmin : isRoot),
  );
  return (
    <div className="shell">
      <header className="topbar">
        <button
          type="button"
          className="ghost menu-button"
          aria-label={t("Menu")}
          aria-expanded={open}
          onClick={() => setOpen((o) => !o)}
        >
          ☰
        </button>
        <strong className="brand">{String(status?.system_name || "relay")}</strong>
        <span className="spacer" />
        <button
          type="button"
          className="ghost"
          aria-label={t("Language")}
          onClick={() => setLang(lang === "en" ? "zh" : "en")}
        >
          {lang === "en" ? "中文" : "English"}
        </button>
        <button
          type="button"
          className="ghost"
          aria-label={t("Theme")}
          onClick={() => setTheme(theme === "light" ? "dark" : "light")}
        >
          {theme === "light" ? "☾" : "☀"}
        </button>
        <span className="who">{user?.display_name || user?.username}</span>
        <button
          type="button"
          onClick={async () => {
            await signOut();
            navigate("/login");
          }}
        >
          {t("Log out")}
        </button>
      </header>
      <nav className={open ? "sidebar open" : "sidebar"} aria-label={t("Main")}>
        {visible.map((l) => (
          <Link
            key={l.to}
            href={l.to}
            className={location === l.to ? "active" : ""}
            onClick={() => setOpen(false)}
          >
            {t(l.label)}
          </Link>
        ))}
      </nav>
      <main className="content">{children}</main>
    </div>
  );
}
