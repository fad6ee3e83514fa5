import { DevicesPage } from "@/features/devices/DevicesPage";

export default function Page() {
  return <DevicesPage />;
}
