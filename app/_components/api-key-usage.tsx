export interface UsageTotals {
  promptTokens: number;
  completionTokens: number;
  images: number;
  requests: number;
}

const number = (n: number) => n.toLocaleString();

/** One key's usage today and over the last 7 UTC days, as a small table named after the key. */
export function ApiKeyUsage({ name, usage }: { name: string; usage: { today: UsageTotals; last7Days: UsageTotals } }) {
  const rows = [
    ["Today", usage.today],
    ["Last 7 days", usage.last7Days],
  ] as const;
  return (
    <table className="api-key-table api-key-usage">
      <caption>
        Usage of {name} <span className="muted">(UTC days)</span>
      </caption>
      <thead>
        <tr>
          <td />
          <th scope="col">Prompt tokens</th>
          <th scope="col">Completion tokens</th>
          <th scope="col">Images</th>
          <th scope="col">Requests</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([label, u]) => (
          <tr key={label}>
            <th scope="row">{label}</th>
            <td>{number(u.promptTokens)}</td>
            <td>{number(u.completionTokens)}</td>
            <td>{number(u.images)}</td>
            <td>{number(u.requests)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
