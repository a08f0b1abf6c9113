/**
 * Entry point for a classic `pulumi up -s <stack>` with an installed Pulumi CLI (Pulumi.yaml `main`).
 * The language host calls the exported function and takes what it returns as the stack outputs.
 */
import { program } from "../index";

export = program;
