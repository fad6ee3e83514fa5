import type { ReactNode } from "react";
import { InlineError } from "./InlineError";

/** A column heading: its text, or its text and whether it holds numbers (right-aligned). */
export type Column = string | { label: string; num: true };

interface DataTableProps {
  /** The table's accessible name. */
  label: string;
  columns: readonly Column[];
  /** Adds the last, visually hidden "Actions" column the rows put their buttons in. */
  actions?: boolean;
  className?: string | undefined;
  /** The rows (`<tr>`). */
  children: ReactNode;
}

// The console's list tables: labelled, headed by column, with row buttons in a last "Actions" column.
export function DataTable({ label, columns, actions = false, className, children }: DataTableProps) {
  return (
    <table aria-label={label} className={className}>
      <thead>
        <tr>
          {columns.map((column) =>
            typeof column === "string" ? (
              <th key={column} scope="col">
                {column}
              </th>
            ) : (
              <th key={column.label} scope="col" className="num">
                {column.label}
              </th>
            ),
          )}
          {actions ? (
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          ) : null}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}

interface ListQuery<T> {
  error: unknown;
  isPending: boolean;
  data: readonly T[] | undefined;
}

interface ListStatesProps<T> {
  query: ListQuery<T>;
  /** Errors of the page's actions on the list, shown under the list's own. */
  errors?: readonly unknown[];
  /** Shown while the list loads, e.g. "Loading plans…". */
  loading: string;
  /** Shown instead of the list when it is empty; without it an empty list is still handed to `children`. */
  empty?: ReactNode;
  children: (rows: readonly T[]) => ReactNode;
}

// Every list page shows the same states: its error (and its actions' errors), loading, empty, then the list.
export function ListStates<T>({ query, errors = [], loading, empty, children }: ListStatesProps<T>) {
  const rows = query.data;
  return (
    <>
      <InlineError error={query.error} />
      {errors.map((error, index) => (
        // A fixed list given by the page: an error keeps its position.
        // biome-ignore lint/suspicious/noArrayIndexKey: the positions never move
        <InlineError key={index} error={error} />
      ))}
      {query.isPending ? <p className="muted">{loading}</p> : null}
      {rows && rows.length === 0 && empty !== undefined ? <p className="empty">{empty}</p> : null}
      {rows && (rows.length > 0 || empty === undefined) ? children(rows) : null}
    </>
  );
}
