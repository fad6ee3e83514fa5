import { Suspense } from "react";
import { FlowsExplorer } from "@/features/flows/FlowsExplorer";

// The explorer reads its query from the URL (useSearchParams), which needs a Suspense boundary.
export default function Page() {
  return (
    <Suspense fallback={<p className="muted">Loading flows…</p>}>
      <FlowsExplorer />
    </Suspense>
  );
}
