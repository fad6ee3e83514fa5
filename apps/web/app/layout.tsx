import type { Metadata } from "next";
import type { ReactNode } from "react";
import { ConsoleProviders } from "@/trpc/client";
import "./globals.css";

export const metadata: Metadata = {
  title: "kernflow console",
  description: "Fleet console of the kernflow eBPF flow telemetry agent",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <ConsoleProviders>{children}</ConsoleProviders>
      </body>
    </html>
  );
}
