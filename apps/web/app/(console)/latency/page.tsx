import { Suspense } from "react";
import { LatencyPage } from "@/features/latency/LatencyPage";

// The page reads its query from the URL (useSearchParams), which needs a Suspense boundary.
export default function Page() {
  return (
    <Suspense fallback={<p className="muted">Loading latency…</p>}>
      <LatencyPage />
    </Suspense>
  );
}
