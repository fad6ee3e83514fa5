// One fixed, unambiguous format for timestamps everywhere in the console (UTC, to the second), so that
// times read from the audit log match what agents and logs print.
export function formatTime(at: Date | string): string {
  const date = typeof at === "string" ? new Date(at) : at;
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}
