/**
 * What a command prints for the person who ran it (summaries, plans, verdicts, --json)
 * goes to stdout through here; logs go to stderr through pino.
 */
export function print(text = ''): void {
  process.stdout.write(`${text}\n`);
}

let printedJson = false;

export function printJson(value: unknown): void {
  printedJson = true;
  process.stdout.write(`${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
}

/**
 * A command run with --json that fails before printing its result still prints one JSON
 * document, `{"error": {code, message, hint}}`, so that a tool reading stdout learns why.
 */
export function printJsonError(error: { code: string; message: string; hint?: string | undefined }): void {
  if (!printedJson) printJson({ error: { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) } });
}

export function printError(text: string): void {
  process.stderr.write(`${text}\n`);
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatDuration(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
