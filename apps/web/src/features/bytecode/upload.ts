import { CSRF_HEADER } from "@/trpc/client";

/**
 * Uploads a BPF object through the same REST route automation uses (`POST /api/v1/bytecode`, raw
 * application/octet-stream body): the file goes as it is, up to 8 MiB, without the base64 inflation a
 * tRPC call would need. The session cookie authenticates; the CSRF header proves the page sent it.
 */
export async function uploadBytecodeFile(options: {
  file: Blob;
  name: string;
  kernelMatch: string;
  csrfToken: string;
}): Promise<{ id: string; name: string }> {
  const query = new URLSearchParams({ name: options.name, kernel_match: options.kernelMatch });
  const res = await fetch(`/api/v1/bytecode?${query}`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/octet-stream", [CSRF_HEADER]: options.csrfToken },
    body: options.file,
  });
  const body = (await res.json().catch(() => null)) as
    | { id: string; name: string }
    | { error?: { message?: string } }
    | null;
  if (!res.ok) {
    const message = body && "error" in body ? body.error?.message : undefined;
    throw new Error(message ?? `Upload failed with HTTP ${res.status}`);
  }
  return body as { id: string; name: string };
}
