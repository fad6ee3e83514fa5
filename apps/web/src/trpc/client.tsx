"use client";

import type { AppRouter } from "@kernflow/api";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import { createContext, type ReactNode, useContext, useRef, useState } from "react";
import superjson from "superjson";

export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();

// The session's CSRF token lives in memory only: it is read from auth.session after load and sent
// with every request in the header the API checks on mutations.
const CsrfTokenContext = createContext<(token: string | null) => void>(() => {
  throw new Error("useSetCsrfToken must be used inside <ConsoleProviders>");
});
export const CSRF_HEADER = "x-kernflow-csrf";

export function useSetCsrfToken(): (token: string | null) => void {
  return useContext(CsrfTokenContext);
}

function httpStatusOf(error: unknown): number | undefined {
  if (error instanceof TRPCClientError) {
    const status = (error.data as { httpStatus?: unknown } | undefined)?.httpStatus;
    return typeof status === "number" ? status : undefined;
  }
  return undefined;
}

export function ConsoleProviders({ children }: { children: ReactNode }) {
  const csrfToken = useRef<string | null>(null);
  const [queryClient] = useState(
    () =>
      new QueryClient({
        defaultOptions: {
          queries: {
            staleTime: 5_000,
            // A 4xx will not get better by asking again; network blips and 5xx may.
            retry: (failures, error) => {
              const status = httpStatusOf(error);
              return (status === undefined || status >= 500) && failures < 2;
            },
          },
        },
      }),
  );
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        httpBatchLink({
          url: "/api/trpc",
          transformer: superjson,
          headers: () => (csrfToken.current ? { [CSRF_HEADER]: csrfToken.current } : {}),
        }),
      ],
    }),
  );
  const [setCsrfToken] = useState(() => (token: string | null) => {
    csrfToken.current = token;
  });

  return (
    <CsrfTokenContext.Provider value={setCsrfToken}>
      <QueryClientProvider client={queryClient}>
        <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
          {children}
        </TRPCProvider>
      </QueryClientProvider>
    </CsrfTokenContext.Provider>
  );
}
