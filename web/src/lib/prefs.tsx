// Language and theme: chosen in the header, remembered in localStorage.
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from "react";
import type { ReactNode } from "react";
import { ZH } from "./zh";

export type Lang = "en" | "zh";
export type Theme = "light" | "dark";

interface Prefs {
  lang: Lang;
  theme: Theme;
  setLang: (lang: Lang) => void;
  setTheme: (theme: Theme) => void;
  t: (text: string, vars?: Record<string, string | number>) => string;
}

function initial<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
  const saved = localStorage.getItem(key) as T | null;
  return saved && allowed.includes(saved) ? saved : fallback;
}

export function translate(lang: Lang, text: string, vars?: Record<string, string | number>): string {
  let out = lang === "zh" ? (ZH[text] ?? text) : text;
  if (vars) for (const [k, v] of Object.entries(vars)) out = out.replace(`{${k}}`, String(v));
  return out;
}

const PrefsContext = createContext<Prefs>({
  lang: "en",
  theme: "light",
  setLang: () => undefined,
  setTheme: () => undefined,
  t: (text, vars) => translate("en", text, vars),
});

export function PrefsProvider({ children }: { children: ReactNode }) {
  const prefersDark = window.matchMedia?.("(prefers-color-scheme: dark)").matches ?? false;
  const [lang, setLangState] = useState<Lang>(() =>
    initial("relay.lang", ["en", "zh"] as const, navigator.language.startsWith("zh") ? "zh" : "en"),
  );
  const [theme, setThemeState] = useState<Theme>(() =>
    initial("relay.theme", ["light", "dark"] as const, prefersDark ? "dark" : "light"),
  );
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  }, [theme, lang]);
  const setLang = useCallback((value: Lang) => {
    localStorage.setItem("relay.lang", value);
    setLangState(value);
  }, []);
  const setTheme = useCallback((value: Theme) => {
    localStorage.setItem("relay.theme", value);
    setThemeState(value);
  }, []);
  const value = useMemo<Prefs>(
    () => ({ lang, theme, setLang, setTheme, t: (text, vars) => translate(lang, text, vars) }),
    [lang, theme, setLang, setTheme],
  );
  return <PrefsContext.Provider value={value}>{children}</PrefsContext.Provider>;
}

export function usePrefs(): Prefs {
  return useContext(PrefsContext);
}

export function useT(): Prefs["t"] {
  return useContext(PrefsContext).t;
}
