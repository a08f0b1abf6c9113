/**
 * Entry point for a classic `pulumi up -s <stack>` with an installed Pulumi CLI (Pulumi.yaml `main`),
 * and for `switchyard` itself, which loads a project's `main` the same way. The exported function is
 * called and what it returns becomes the stack outputs.
 */
import { program } from "../program";

export = program;
