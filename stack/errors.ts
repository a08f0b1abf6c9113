/**
 * The errors the library throws on purpose. A caller (the CLI, another program) maps them to exit
 * codes: a `UserError` is bad input or environment (exit 2); anything else is a failed operation.
 */

/** An error caused by the user's input or environment: the CLI prints its message alone and exits 2. */
export class UserError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UserError";
    }
}
