// Data hooks: one server page of a listing, and a one-shot load.
import { useCallback, useEffect, useRef, useState } from "react";
import { api, message } from "./api";
import type { Page } from "./api";

export const PAGE_SIZE = 20;

type Query = Record<string, string | number | boolean | undefined | null>;

export interface Paged<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
  setPage: (page: number) => void;
  loading: boolean;
  error: string;
  reload: () => void;
}

/** A listing paginated by the server (`p` is 1-based); a change of `query` goes to page 1. */
export function usePaged<T>(path: string, query: Query, pageSize = PAGE_SIZE): Paged<T> {
  const [page, setPage] = useState(1);
  const [data, setData] = useState<Page<T> | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState("");
  const [tick, setTick] = useState(0);
  const key = JSON.stringify([path, query]);
  const lastKey = useRef(key);
  if (lastKey.current !== key) {
    lastKey.current = key;
    if (page !== 1) setPage(1);
  }
  useEffect(() => {
    let live = true;
    setLoading(true);
    api
      .get<Page<T>>(path, { ...query, p: page, page_size: pageSize })
      .then((d) => {
        if (!live) return;
        setData(d);
        setError("");
      })
      .catch((e) => live && setError(message(e)))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
    // `key` stands for path and query
  }, [key, page, pageSize, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return {
    items: data?.items ?? [],
    total: data?.total ?? 0,
    page,
    pageSize,
    setPage,
    loading,
    error,
    reload,
  };
}

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState("");
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load()
      .then((d) => {
        if (!live) return;
        setData(d);
        setError("");
      })
      .catch((e) => live && setError(message(e)));
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { data, error, reload: () => setTick((n) => n + 1) };
}

/** Run an action, keeping its error for display next to the control that started it. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const run = useCallback(async (action: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError("");
    try {
      await action();
      return true;
    } catch (e) {
      setError(message(e));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}

export interface Selection {
  ids: number[];
  has: (id: number) => boolean;
  toggle: (id: number) => void;
  /** Whether every row on the page is selected. */
  all: boolean;
  setAll: (on: boolean) => void;
  clear: () => void;
}

/** Which rows of the current page are ticked (by id). */
export function useSelection(rows: { id: number }[]): Selection {
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const toggle = useCallback(
    (id: number) =>
      setSelected((s) => {
        const next = new Set(s);
        if (next.has(id)) next.delete(id);
        else next.add(id);
        return next;
      }),
    [],
  );
  const clear = useCallback(() => setSelected(new Set()), []);
  return {
    ids: [...selected],
    has: (id) => selected.has(id),
    toggle,
    all: rows.length > 0 && rows.every((x) => selected.has(x.id)),
    setAll: (on) => setSelected(on ? new Set(rows.map((x) => x.id)) : new Set()),
    clear,
  };
}
