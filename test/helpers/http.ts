/** One answer of a service's HTTP endpoints (/healthz, /readyz, /metrics). */
export interface Answer {
  status: number;
  body: string;
}

export async function get(port: number, path: string): Promise<Answer> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
}

export async function readyz(port: number): Promise<Answer> {
  return get(port, '/readyz');
}
