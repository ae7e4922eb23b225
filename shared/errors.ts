/**
 * An error the user caused or can fix (bad config, bad argument, not a git repo).
 * Commands print its message as one line and exit 2, without a stack trace.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

export function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n').map((s) => s.trim()).filter(Boolean).join(' ');
}
