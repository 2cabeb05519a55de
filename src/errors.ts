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
