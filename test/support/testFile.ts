/** A tiny dynamic resource for engine tests: a file on disk. */
import * as pulumi from "@pulumi/pulumi";

const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: { path: string; content: string }) {
        require("fs").writeFileSync(inputs.path, inputs.content);
        return { id: inputs.path, outs: inputs };
    },
    async read(id: string, props: { path: string; content: string }) {
        const fs = require("fs");
        if (!fs.existsSync(id)) {
            return { id: "", props: {} };
        }
        return { id, props: { ...props, content: fs.readFileSync(id, "utf8") } };
    },
    async diff(_id: string, olds: { content: string; path: string }, news: { content: string; path: string }) {
        return { changes: olds.content !== news.content || olds.path !== news.path, replaces: olds.path !== news.path ? ["path"] : [] };
    },
    async update(_id: string, _olds: unknown, news: { path: string; content: string }) {
        require("fs").writeFileSync(news.path, news.content);
        return { outs: news };
    },
    async delete(id: string) {
        require("fs").rmSync(id, { force: true });
    },
};

export class TestFile extends pulumi.dynamic.Resource {
    public readonly content!: pulumi.Output<string>;
    constructor(name: string, args: { path: pulumi.Input<string>; content: pulumi.Input<string> }, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, { ...args }, opts, "switchyard-test", "TestFile");
    }
}
