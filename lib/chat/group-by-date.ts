export type DateGroupLabel = "Today" | "Yesterday" | "Previous 7 days" | "Older";

export interface DateGroup<T> {
  label: DateGroupLabel;
  items: T[];
}

/**
 * Splits items (already in the order to show) by the local calendar day of
 * `date(item)` relative to `now`: Today, Yesterday, the 7 days before
 * yesterday, Older. Empty groups are left out; future dates (a skewed
 * clock) count as today.
 */
export function groupByDate<T>(items: T[], date: (item: T) => Date, now: Date): DateGroup<T>[] {
  const today = startOfDay(now, 0);
  const bounds: [DateGroupLabel, number][] = [
    ["Today", today],
    ["Yesterday", startOfDay(now, 1)],
    ["Previous 7 days", startOfDay(now, 8)],
  ];
  const groups = new Map<DateGroupLabel, T[]>();
  for (const item of items) {
    const t = date(item).getTime();
    const label = bounds.find(([, start]) => t >= start)?.[0] ?? "Older";
    const group = groups.get(label);
    if (group) group.push(item);
    else groups.set(label, [item]);
  }
  const order: DateGroupLabel[] = ["Today", "Yesterday", "Previous 7 days", "Older"];
  return order.flatMap((label) => (groups.has(label) ? [{ label, items: groups.get(label)! }] : []));
}

/** Local midnight `daysAgo` calendar days before `now` (calendar days, so DST changes do not shift it). */
export function startOfDay(now: Date, daysAgo: number): number {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate() - daysAgo).getTime();
}
