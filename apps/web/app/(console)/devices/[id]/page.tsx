import { DeviceDetailPage } from "@/features/devices/DeviceDetailPage";

export default async function Page({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <DeviceDetailPage id={id} />;
}
