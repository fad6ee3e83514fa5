import { BytecodePage } from "@/features/bytecode/BytecodePage";

export default function Page() {
  return <BytecodePage />;
}
