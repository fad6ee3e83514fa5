"use client";

import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useCallback, useMemo } from "react";
import {
  type ExplorerView,
  explorerSearchParams,
  type ParsedExplorerView,
  parseExplorerView,
} from "./explorer-state";

/**
 * The view lives in the URL only (no copy in React state), so back/forward, reload and a shared link all
 * show the same thing. Changes replace the history entry: every keystroke in a filter is not a page.
 */
export function useExplorerView(defaults: ExplorerView): ParsedExplorerView & {
  setView: (view: ExplorerView) => void;
} {
  const searchParams = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const search = searchParams.toString();
  const parsed = useMemo(() => parseExplorerView(new URLSearchParams(search), defaults), [search, defaults]);
  const setView = useCallback(
    (view: ExplorerView) =>
      router.replace(`${pathname}?${explorerSearchParams(view).toString()}`, { scroll: false }),
    [router, pathname],
  );
  return { ...parsed, setView };
}
