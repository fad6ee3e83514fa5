// Ready-to-paste requests for a freshly created token, in both header styles the REST API accepts.
// Single quotes around header values: the secret is shell-safe text, but an origin or email need not be.
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export function curlExamples(
  origin: string,
  email: string,
  secret: string,
): { bearer: string; kentik: string } {
  const url = shellQuote(`${origin}/api/v1/plans`);
  return {
    bearer: `curl -s -H ${shellQuote(`Authorization: Bearer ${secret}`)} ${url}`,
    kentik: `curl -s -H ${shellQuote(`X-CH-Auth-Email: ${email}`)} -H ${shellQuote(`X-CH-Auth-API-Token: ${secret}`)} ${url}`,
  };
}
