// The policy pack's entry (package.json "main"), as the Pulumi policy runner loads it.
//   - In a source checkout (index.ts beside this file) it loads the TypeScript sources: the runner
//     has registered ts-node with this folder's tsconfig.json before it loads the pack.
//   - In an installed package (no sources shipped) it loads the build, ../lib/policies/index.js, so
//     the pack needs no compiler; @pulumi/policy and @pulumi/pulumi resolve from the user's node_modules.
"use strict";
const fs = require("fs");
const path = require("path");
const source = path.join(__dirname, "index.ts");
if (fs.existsSync(source)) {
    if (!require.extensions[".ts"]) {
        require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "tsconfig.json") });
    }
    module.exports = require(source);
} else {
    module.exports = require(path.join(__dirname, "..", "lib", "policies", "index.js"));
}
