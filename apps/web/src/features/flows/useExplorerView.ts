"use client";

import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useCallback, useEffect, useRef, useState } from "react";
import {
  type ExplorerView,
  explorerSearchParams,
  type ParsedExplorerView,
  parseExplorerView,
} from "./explorer-state";

/**
 * The view is held in the URL so back/forward, reload and a shared link show the same thing. The URL
 * catches up asynchronously after router.replace, so the view the controls build on is kept in state and
 * updated at once: two quick changes in a row must not each start from the URL as it was before both
 * (the second would undo the first). The URL is read back only when something else changed it (a link,
 * back/forward), never when it is one of this hook's own writes arriving late. Changes replace the history
 * entry: every keystroke in a filter is not a page.
 */
export function useExplorerView(defaults: ExplorerView): ParsedExplorerView & {
  setView: (view: ExplorerView) => void;
} {
  const search = useSearchParams().toString();
  const router = useRouter();
  const pathname = usePathname();
  const [parsed, setParsed] = useState(() => parseExplorerView(new URLSearchParams(search), defaults));
  const seen = useRef(search);
  const written = useRef(new Set<string>());
  const latestWritten = useRef<string | null>(null);

  useEffect(() => {
    if (search === seen.current) return;
    seen.current = search;
    if (search === latestWritten.current) {
      // The last write has landed; earlier ones that the router skipped will not come any more.
      written.current.clear();
      return;
    }
    if (written.current.delete(search)) return;
    setParsed(parseExplorerView(new URLSearchParams(search), defaults));
  }, [search, defaults]);

  const setView = useCallback(
    (view: ExplorerView) => {
      const next = explorerSearchParams(view).toString();
      setParsed({ view, problems: [] });
      written.current.add(next);
      latestWritten.current = next;
      router.replace(`${pathname}?${next}`, { scroll: false });
    },
    [router, pathname],
  );
  return { ...parsed, setView };
}
