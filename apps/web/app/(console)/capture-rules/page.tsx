import { CaptureRulesPage } from "@/features/capture-rules/CaptureRulesPage";

export default function Page() {
  return <CaptureRulesPage />;
}
