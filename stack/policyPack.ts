/**
 * Switchyard's own CrossGuard policy pack, as shipped in the package: `switchyard preview` and `up`
 * run it by default on any project, so its folder comes from the package, never from the user's
 * project.
 */
import * as path from "path";
import { PACKAGE_ROOT } from "./env";

/**
 * The folder of Switchyard's policy pack (`policies/` in the package: PulumiPolicy.yaml, and a
 * package.json whose `main` loads the build in an installed package, the sources in a checkout).
 * The same folder works with an installed Pulumi CLI: `pulumi preview --policy-pack <this folder>`.
 */
export function defaultPolicyPack(packageRoot: string = PACKAGE_ROOT): string {
    return path.join(packageRoot, "policies");
}
