import { NotBuiltYet } from "@/features/shell/NotBuiltYet";

export default function Page() {
  return <NotBuiltYet href="/flows" />;
}
