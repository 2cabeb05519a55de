// Errors a user can cause (bad file, bad flag). The CLI prints only the message (one line saying
// what is wrong and what to do) and exits with `exitCode`; anything else is a bug and shows a stack.

export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}

/** A bad flag value (`--dropout 1.5`, `--arch abc`): the CLIs exit with 2, as for an unknown flag. */
export class FlagError extends UserError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'FlagError';
  }
}
