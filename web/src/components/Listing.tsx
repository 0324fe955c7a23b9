// The parts every listing page is made of: its title bar, the search form, and a table of
// one server page with optional row selection, followed by the pager.
import { useState } from "react";
import type { HTMLAttributes, ReactNode } from "react";
import type { Paged, Selection } from "../lib/hooks";
import { useT } from "../lib/prefs";
import { Pager } from "./ui";

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <header className="row between wrap">
      <h1>{title}</h1>
      {children}
    </header>
  );
}

/** A keyword box and a Search button; `children` stand before the button, `after` after it. */
export function SearchForm({
  label,
  placeholder,
  onSearch,
  children,
  after,
}: {
  label: string;
  placeholder: string;
  onSearch: (keyword: string) => void;
  children?: ReactNode;
  after?: ReactNode;
}) {
  const t = useT();
  const [keyword, setKeyword] = useState("");
  return (
    <form
      className="filters row wrap"
      onSubmit={(e) => {
        e.preventDefault();
        onSearch(keyword.trim());
      }}
    >
      <input type="search" aria-label={label} placeholder={placeholder} value={keyword} onChange={(e) => setKeyword(e.target.value)} />
      {children}
      <button type="submit">{t("Search")}</button>
      {after}
    </form>
  );
}

export interface Column<T> {
  head: ReactNode;
  cell: (row: T) => ReactNode;
  className?: string;
  title?: (row: T) => string;
}

type RowAttrs = HTMLAttributes<HTMLTableRowElement> & { [data: `data-${string}`]: string };

/** One server page as a table, then its pager. With `selection`, a first column of ticks. */
export function PagedTable<T extends { id: number }>({
  list,
  columns,
  rowAttrs,
  selection,
  selectLabel,
  empty,
}: {
  list: Paged<T>;
  columns: Column<T>[];
  rowAttrs?: (row: T) => RowAttrs;
  selection?: Selection;
  selectLabel?: (row: T) => string;
  empty?: string;
}) {
  const t = useT();
  return (
    <>
      <div className="table-scroll">
        <table>
          <thead>
            <tr>
              {selection ? (
                <th>
                  <input type="checkbox" aria-label={t("Select all")} checked={selection.all} onChange={(e) => selection.setAll(e.target.checked)} />
                </th>
              ) : null}
              {columns.map((c, i) => (
                <th key={i}>{c.head}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {list.items.map((row) => (
              <tr key={row.id} {...rowAttrs?.(row)}>
                {selection ? (
                  <td>
                    <input type="checkbox" aria-label={selectLabel?.(row)} checked={selection.has(row.id)} onChange={() => selection.toggle(row.id)} />
                  </td>
                ) : null}
                {columns.map((c, i) => (
                  <td key={i} className={c.className} title={c.title?.(row)}>
                    {c.cell(row)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        {empty && !list.loading && list.items.length === 0 ? <p className="hint">{empty}</p> : null}
      </div>
      <Pager page={list.page} pageSize={list.pageSize} total={list.total} onPage={list.setPage} />
    </>
  );
}
