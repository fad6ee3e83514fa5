import { ExportTargetsPage } from "@/features/exports/ExportTargetsPage";

export default function Page() {
  return <ExportTargetsPage />;
}
