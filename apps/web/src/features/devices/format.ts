// Small display helpers for device figures reported by agents.

export function formatRate(perSecond: number | null): string {
  if (perSecond === null) return "—";
  return perSecond >= 100 ? Math.round(perSecond).toLocaleString("en") : perSecond.toFixed(1);
}

/** "3 s ago", "5 min ago", "2 h ago", else the date: how fresh a check-in is matters more than when. */
export function formatAgo(at: Date | null, now = Date.now()): string {
  if (!at) return "never";
  const seconds = Math.max(0, Math.round((now - at.getTime()) / 1000));
  if (seconds < 90) return `${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.round(hours / 24)} d ago`;
}
