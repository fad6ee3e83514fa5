import { EnrollmentTokensPage } from "@/features/enrollment-tokens/EnrollmentTokensPage";

export default function Page() {
  return <EnrollmentTokensPage />;
}
