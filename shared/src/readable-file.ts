import { accessSync, constants, statSync } from 'node:fs';

/** Why a file (a certificate, a key) cannot be read, or undefined when it can. */
export function unreadableFileReason(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return `${path} is not a file`;
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `${path} does not exist`;
    if (code === 'EACCES') return `${path} cannot be read (permission denied)`;
    return `${path} cannot be read (${code ?? 'unknown error'})`;
  }
}
