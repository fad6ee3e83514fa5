"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { createContext, type ReactNode, useContext, useEffect } from "react";
import { useSetCsrfToken, useTRPC } from "@/trpc/client";
import { isUnauthenticated } from "@/trpc/errors";
import { InlineError } from "./InlineError";
import { roleNames } from "./roles";
import { consoleSections } from "./sections";

export interface SessionUser {
  id: string;
  email: string;
  name: string;
  role: "member" | "admin" | "super_admin";
}

const SessionUserContext = createContext<SessionUser | null>(null);

export function useSessionUser(): SessionUser {
  const user = useContext(SessionUserContext);
  if (!user) throw new Error("useSessionUser must be used inside <ConsoleShell>");
  return user;
}

export function ConsoleShell({ children }: { children: ReactNode }) {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const queryClient = useQueryClient();
  const setCsrfToken = useSetCsrfToken();
  const session = useQuery(trpc.auth.session.queryOptions());
  const signedOut = session.isSuccess ? session.data === null : isUnauthenticated(session.error);

  useEffect(() => {
    if (session.data) setCsrfToken(session.data.csrfToken);
  }, [session.data, setCsrfToken]);

  // A session that ends while a page is open (expiry, sign-out elsewhere, password reset) shows up as
  // UNAUTHORIZED on whatever the page asks next; re-checking the session then sends the user to /login.
  useEffect(() => {
    const recheck = (error: unknown) => {
      if (isUnauthenticated(error))
        void queryClient.invalidateQueries({ queryKey: trpc.auth.session.queryKey() });
    };
    const unsubscribeQueries = queryClient.getQueryCache().subscribe((event) => {
      if (event.type === "updated" && event.action.type === "error") recheck(event.action.error);
    });
    const unsubscribeMutations = queryClient.getMutationCache().subscribe((event) => {
      if (event.type === "updated" && event.action.type === "error") recheck(event.action.error);
    });
    return () => {
      unsubscribeQueries();
      unsubscribeMutations();
    };
  }, [queryClient, trpc]);

  useEffect(() => {
    if (signedOut) router.replace(`/login?next=${encodeURIComponent(pathname)}`);
  }, [signedOut, router, pathname]);

  const logout = useMutation(
    trpc.auth.logout.mutationOptions({
      onSettled: () => {
        setCsrfToken(null);
        queryClient.clear();
        router.replace("/login");
      },
    }),
  );

  if (session.isPending || signedOut) {
    return (
      <main className="centered" aria-busy="true">
        <p className="muted">Loading…</p>
      </main>
    );
  }
  if (session.isError || !session.data) {
    return (
      <main className="centered">
        <InlineError error={session.error} />
      </main>
    );
  }

  const user = session.data.user;
  return (
    <SessionUserContext.Provider value={user}>
      <div className="shell">
        <aside className="sidebar">
          <div className="brand">kernflow</div>
          <nav aria-label="Console sections">
            <ul>
              {consoleSections.map((section) => {
                const current = section.href === "/" ? pathname === "/" : pathname.startsWith(section.href);
                return (
                  <li key={section.href}>
                    <Link href={section.href} aria-current={current ? "page" : undefined}>
                      {section.title}
                    </Link>
                  </li>
                );
              })}
            </ul>
          </nav>
          <div className="whoami">
            <span title={user.email}>{user.email}</span>
            <span className="badge">{roleNames[user.role]}</span>
            <button
              type="button"
              className="link-button"
              onClick={() => logout.mutate()}
              disabled={logout.isPending}
            >
              Sign out
            </button>
          </div>
        </aside>
        <main className="content">{children}</main>
      </div>
    </SessionUserContext.Provider>
  );
}
