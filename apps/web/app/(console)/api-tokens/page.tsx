import { ApiTokensPage } from "@/features/api-tokens/ApiTokensPage";

export default function Page() {
  return <ApiTokensPage />;
}
