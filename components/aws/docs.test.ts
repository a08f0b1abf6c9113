/**
 * The library's contract, read from the source with the TypeScript compiler: every component is
 * exported as a ComponentResource, and every argument of every component (and of the argument
 * types they nest) has TSDoc; an optional argument states its default with `@default` (or says
 * it is "Required", as a sandbox's ttlHours does). A required argument (no `?`) has no default.
 */
import * as assert from "assert";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as ts from "typescript";
import * as awsIndex from "./index";

const INDEX = path.resolve(__dirname, "index.ts");
const COMPONENTS = ["SnapshotDatabase", "ColorEnvironment", "WeightedListener", "BlueGreen", "Sandbox"] as const;
/** Other exported constructors and functions whose arguments users write. */
const OTHER_ENTRY_POINTS = ["GeneratedPassword", "RdsBlueGreenDeployment", "frontDoor"] as const;

const inRepo = (d: ts.Node): boolean => !d.getSourceFile().fileName.includes(`${path.sep}node_modules${path.sep}`) && !d.getSourceFile().fileName.includes("/node_modules/");

/** The problems of the arguments type `root` and of every *Args type it nests. */
function argumentProblems(checker: ts.TypeChecker, root: ts.Type, where: string): { problems: string[]; checked: string[] } {
    const problems: string[] = [];
    const checked: string[] = [];
    const seenTypes = new Set<ts.Type>();
    const seenProps = new Set<ts.Declaration>();

    const visit = (type: ts.Type, at: string): void => {
        if (seenTypes.has(type)) {
            return;
        }
        seenTypes.add(type);
        if (type.isUnion() || type.isIntersection()) {
            type.types.forEach((t) => visit(t, at));
            return;
        }
        if (!(type.flags & ts.TypeFlags.Object) || type.getCallSignatures().length > 0) {
            return;
        }
        for (const prop of checker.getPropertiesOfType(type)) {
            const decl = prop.declarations?.[0];
            if (decl === undefined || !inRepo(decl)) {
                continue;
            }
            const owner = decl.parent;
            const ownerName = ts.isInterfaceDeclaration(owner) ? owner.name.text : undefined;
            if (ownerName !== undefined && ownerName.endsWith("Args") && !seenProps.has(decl)) {
                seenProps.add(decl);
                const name = `${ownerName}.${prop.name}`;
                checked.push(name);
                const doc = ts.displayPartsToString(prop.getDocumentationComment(checker)).trim();
                const hasDefault = prop.getJsDocTags(checker).some((t) => t.name === "default");
                const optional = (prop.flags & ts.SymbolFlags.Optional) !== 0;
                if (doc === "") {
                    problems.push(`${name} (${at}) has no TSDoc`);
                } else if (optional && !hasDefault && !/\bRequired\b/.test(doc)) {
                    problems.push(`${name} (${at}) is optional but its TSDoc has no @default`);
                }
            }
            if (prop.name === "transform") {
                continue; // hooks: functions of the children's own (provider) argument types
            }
            visit(checker.getTypeOfSymbolAtLocation(prop, decl), `${at}.${prop.name}`);
        }
    };
    visit(root, where);
    return { problems, checked };
}

describe("aws library contract", () => {
    let program: ts.Program;
    let checker: ts.TypeChecker;
    let exports: Map<string, ts.Symbol>;

    before(function () {
        this.timeout(120_000);
        program = ts.createProgram([INDEX], { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, strict: true, esModuleInterop: true, skipLibCheck: true, types: ["node"] });
        checker = program.getTypeChecker();
        const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(INDEX)!)!;
        exports = new Map(checker.getExportsOfModule(moduleSymbol).map((s) => [s.name, s]));
    });

    it("exports every component, as a ComponentResource, from components/aws", () => {
        for (const name of COMPONENTS) {
            const ctor = (awsIndex as Record<string, unknown>)[name] as { prototype: unknown } | undefined;
            assert.strictEqual(typeof ctor, "function", `${name} is exported`);
            assert.ok(ctor!.prototype instanceof pulumi.ComponentResource, `${name} is a ComponentResource`);
            assert.ok(exports.has(name), `${name} is in the typings of components/aws/index.ts`);
        }
    });

    for (const name of [...COMPONENTS, ...OTHER_ENTRY_POINTS]) {
        it(`documents every argument of ${name}, with its default`, () => {
            const symbol = exports.get(name);
            assert.ok(symbol, `${name} is exported`);
            const resolved = symbol!.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol!) : symbol!;
            const type = checker.getTypeOfSymbolAtLocation(resolved, resolved.declarations![0]);
            const signatures = name === "frontDoor" ? type.getCallSignatures() : type.getConstructSignatures();
            assert.strictEqual(signatures.length, 1, `${name} has one signature`);
            const params = signatures[0].getParameters();
            const argsParam = name === "frontDoor" ? params[2] : params[1];
            assert.ok(argsParam, `${name} takes arguments`);
            const argsType = checker.getNonNullableType(checker.getTypeOfSymbolAtLocation(argsParam, argsParam.declarations![0]));
            const { problems, checked } = argumentProblems(checker, argsType, name);
            assert.ok(checked.length > 0, `${name}: no argument was checked`);
            assert.deepStrictEqual(problems, []);
        });
    }

    it("finds an argument without a default (the check can fail)", () => {
        const source = `
            export interface DemoArgs {
                /** Documented, with its default. @default 1 */
                readonly good?: number;
                /** Documented, but no default. */
                readonly noDefault?: number;
                readonly noDoc: string;
            }
            export declare class Demo { constructor(name: string, args: DemoArgs); }`;
        const file = path.resolve(__dirname, "__demo__.ts");
        const host = ts.createCompilerHost({});
        const read = host.getSourceFile.bind(host);
        host.getSourceFile = (f, v, ...rest) => (path.resolve(f) === file ? ts.createSourceFile(f, source, v) : read(f, v, ...rest));
        const demo = ts.createProgram([file], { noLib: true, types: [] }, host);
        const c = demo.getTypeChecker();
        const sym = c.getExportsOfModule(c.getSymbolAtLocation(demo.getSourceFile(file)!)!).find((s) => s.name === "Demo")!;
        const param = c.getTypeOfSymbolAtLocation(sym, sym.declarations![0]).getConstructSignatures()[0].getParameters()[1];
        const { problems } = argumentProblems(c, c.getTypeOfSymbolAtLocation(param, param.declarations![0]), "Demo");
        assert.deepStrictEqual(problems, ["DemoArgs.noDefault (Demo) is optional but its TSDoc has no @default", "DemoArgs.noDoc (Demo) has no TSDoc"]);
    });
});
