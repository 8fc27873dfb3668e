// The one kind of failure that is the user's to fix: exit code 2 with a message naming what is wrong and what to do.

/** A problem with the user's project, settings or machine that stops the check from running. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}
