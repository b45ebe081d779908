/** POSTs `body` as JSON (a string is sent as it is: signed bytes, or malformed on purpose). */
export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** The header of a bearer-token request. */
export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}
