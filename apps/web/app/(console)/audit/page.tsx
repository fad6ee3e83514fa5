import { AuditLogPage } from "@/features/audit/AuditLogPage";

export default function Page() {
  return <AuditLogPage />;
}
