import { isLiteshiftError } from './errors.js';

export interface RetryOptions {
  /** Attempts after the first one. */
  retries: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Decides whether an error is worth another attempt; defaults to LiteshiftError.retriable. */
  isRetriable?: (error: unknown) => boolean;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
}

const defaultIsRetriable = (error: unknown): boolean => isLiteshiftError(error) && error.retriable;

/**
 * Exponential backoff with full jitter. Programmer errors and permanent failures
 * (anything `isRetriable` rejects) are rethrown at once.
 */
export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const initial = options.initialDelayMs ?? 200;
  const max = options.maxDelayMs ?? 5_000;
  const isRetriable = options.isRetriable ?? defaultIsRetriable;
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= options.retries || !isRetriable(error) || options.signal?.aborted) throw error;
      const ceiling = Math.min(max, initial * 2 ** attempt);
      const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
      options.onRetry?.(error, attempt + 1, delay);
      await sleep(delay, options.signal);
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
