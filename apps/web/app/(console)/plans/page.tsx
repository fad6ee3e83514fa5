import { PlansPage } from "@/features/plans/PlansPage";

export default function Page() {
  return <PlansPage />;
}
