/** "eth*, cali*  tun0" → ["eth*", "cali*", "tun0"]: commas or spaces separate patterns in the form. */
export function parsePatterns(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

export function formatPatterns(patterns: readonly string[]): string {
  return patterns.join(", ");
}
