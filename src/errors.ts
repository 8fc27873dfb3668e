// The one kind of failure that is the user's to fix: exit code 2 with a message naming what is wrong and what to do.

/** A problem with the user's project, settings or machine that stops the check from running. */
export class UserError extends Error {
  /** `file`/`line`: the user's file at fault (as the message names it), when there is one. */
  constructor(
    message: string,
    readonly file: string | null = null,
    readonly line: number | null = null,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}
