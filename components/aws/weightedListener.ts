/**
 * WeightedListener: the ALB listener that splits traffic between the colors by weight, and a test
 * listener on its own port that reaches only the idle color.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
    Color,
    CutoverPlanArgs,
    Role,
    TrafficWeights,
    Transform,
    applyTransform,
    checkPort,
    checkStepPlan,
    checkTraffic,
    idleColor,
    throwIfInvalid,
} from "../types";
import { TRAFFIC_CONFIG_KEY, trafficFromConfig } from "../config";
import { AWS_TAGS, checkIntRange, checkNow, checkedOutput, childTags, isEventual } from "./common";

export { TRAFFIC_CONFIG_KEY, trafficFromConfig };

/** TLS policy of HTTPS listeners. */
export const DEFAULT_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/** Stickiness of the weighted forward: a client keeps its color for a while. */
export interface StickinessArgs {
    /**
     * Keep each client on the color it first reached.
     * @default false
     */
    readonly enabled?: pulumi.Input<boolean>;
    /**
     * Seconds a client stays on its color, 1 to 604800 (7 days).
     * @default 3600
     */
    readonly durationSeconds?: pulumi.Input<number>;
}

/** Arguments of a WeightedListener. */
export interface WeightedListenerArgs {
    /** ARN of the ALB the listeners belong to. Required: no default. */
    readonly loadBalancerArn: pulumi.Input<string>;
    /** Target groups of the two colors, `{ blue, green }`. Required: no default. */
    readonly targetGroupArns: { readonly blue: pulumi.Input<string>; readonly green: pulumi.Input<string> };
    /**
     * Traffic weights, integers from 0 to 100, at least one positive. The test listener forwards to
     * the idle color. Refused when neither given nor configured.
     * @default the stack's configuration `switchyard:traffic`
     * @example { blue: 90, green: 10 }
     */
    readonly traffic?: pulumi.Input<TrafficWeights>;
    /**
     * Port of the main listener.
     * @default 443 with a certificate, else 80
     */
    readonly port?: pulumi.Input<number>;
    /**
     * Port of the test listener, which reaches only the idle color.
     * @default 8080
     */
    readonly testPort?: pulumi.Input<number>;
    /**
     * ACM certificate: both listeners use HTTPS with it.
     * @default none: HTTP
     */
    readonly certificateArn?: pulumi.Input<string>;
    /**
     * Stickiness of the weighted forward.
     * @default { enabled: false, durationSeconds: 3600 }
     */
    readonly stickiness?: StickinessArgs;
    /**
     * The cutover plan; recorded on the listener as the `switchyard:cutover-steps` tag ("10,25,50,100").
     * @default none
     */
    readonly cutover?: CutoverPlanArgs;
    /**
     * Role of the stack, for the `switchyard:role` tag.
     * @default "blue-green"
     */
    readonly role?: Role;
    /**
     * Tags for both listeners; `switchyard:role` is always set.
     * @default {}
     */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * Adjust a child's arguments before it is created: `listener` (`<name>-main`) and
     * `testListener` (`<name>-test`).
     * @default {}: no child is adjusted
     * @example { listener: (a) => ({ ...a, port: 8443 }) }
     */
    readonly transform?: {
        readonly listener?: Transform<aws.lb.ListenerArgs>;
        readonly testListener?: Transform<aws.lb.ListenerArgs>;
    };
}

/** Validates the plain arguments of a WeightedListener; returns the first problem. */
export function checkWeightedListenerArgs(args: WeightedListenerArgs | undefined): string | undefined {
    if (!args) {
        return "WeightedListener needs arguments: loadBalancerArn, targetGroupArns and traffic";
    }
    if (args.loadBalancerArn === undefined) {
        return "loadBalancerArn is missing";
    }
    if (args.targetGroupArns?.blue === undefined || args.targetGroupArns?.green === undefined) {
        return "targetGroupArns needs both { blue, green }";
    }
    const traffic = checkNow(args.traffic, checkTraffic);
    if (traffic) {
        return args.traffic === undefined ? `${traffic}, or set the stack's configuration ${TRAFFIC_CONFIG_KEY}` : traffic;
    }
    const defaultPort = args.certificateArn !== undefined ? 443 : 80;
    const ports =
        checkNow(args.port, (p) => checkPort("port", p ?? defaultPort)) ?? checkNow(args.testPort, (p) => checkPort("testPort", p ?? 8080));
    if (ports) {
        return ports;
    }
    const port = isEventual(args.port) ? undefined : ((args.port as number | undefined) ?? defaultPort);
    const testPort = isEventual(args.testPort) ? undefined : ((args.testPort as number | undefined) ?? 8080);
    if (port !== undefined && port === testPort) {
        return `port and testPort are both ${port}: the test listener needs its own port`;
    }
    if (args.cutover !== undefined) {
        const plan = checkStepPlan(args.cutover?.steps);
        if (plan) {
            return plan;
        }
    }
    return checkNow(args.stickiness?.durationSeconds, (d) => (d === undefined ? undefined : checkIntRange("stickiness durationSeconds", d, 1, 604800)));
}

/**
 * The main listener forwards to both colors' target groups with the given weights; the test
 * listener, on its own port, forwards only to the idle color (see idleColor()). Changing the
 * weights changes only these two listeners.
 *
 * @example
 * new WeightedListener("shop-listener", {
 *     loadBalancerArn: alb.arn, targetGroupArns: { blue: blue.targetGroupArn, green: green.targetGroupArn },
 *     traffic: { blue: 90, green: 10 }, cutover: { steps: [10, 25, 50, 100] },
 * });
 */
export class WeightedListener extends pulumi.ComponentResource {
    public readonly listener: aws.lb.Listener;
    public readonly testListener: aws.lb.Listener;
    public readonly listenerArn: pulumi.Output<string>;
    public readonly testListenerArn: pulumi.Output<string>;
    public readonly traffic: pulumi.Output<TrafficWeights>;
    /** The color the test listener reaches. */
    public readonly idleColor: pulumi.Output<Color>;
    public readonly port: pulumi.Output<number>;
    public readonly testPort: pulumi.Output<number>;
    /** "http" or "https". */
    public readonly scheme: pulumi.Output<string>;

    constructor(name: string, args: WeightedListenerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("switchyard:aws:WeightedListener", name, {}, opts);
        // The weights come from the arguments, else from the stack's configuration; both are validated.
        if (args && args.traffic === undefined) {
            let configured: TrafficWeights | undefined;
            try {
                configured = trafficFromConfig();
            } catch (e) {
                throwIfInvalid(this, `${TRAFFIC_CONFIG_KEY} is not a JSON object of weights: ${(e as Error).message}`);
            }
            if (configured !== undefined) {
                throwIfInvalid(this, checkTraffic(configured) && `${TRAFFIC_CONFIG_KEY}: ${checkTraffic(configured)}`);
                args = { ...args, traffic: configured };
            }
        }
        throwIfInvalid(this, checkWeightedListenerArgs(args));

        const t = args.transform ?? {};
        const https = args.certificateArn !== undefined;
        const protocol = https ? "HTTPS" : "HTTP";
        const traffic = checkedOutput(this, args.traffic, checkTraffic);
        const port = checkedOutput(this, args.port ?? (https ? 443 : 80), (p) => checkPort("port", p));
        const testPort = checkedOutput(
            this,
            pulumi.all([port, args.testPort ?? 8080]).apply(([p, tp]) => {
                throwIfInvalid(this, p === tp ? `port and testPort are both ${p}: the test listener needs its own port` : undefined);
                return tp;
            }),
            (p) => checkPort("testPort", p),
        );
        const arns = args.targetGroupArns;
        const idle = traffic.apply(idleColor);

        const extra: Record<string, pulumi.Input<string>> = {};
        if (args.cutover !== undefined) {
            extra[AWS_TAGS.cutoverSteps] = args.cutover.steps.join(",");
        }
        const tags = childTags(args.role ?? "blue-green", args.tags, extra);
        const testTags = childTags(args.role ?? "blue-green", args.tags);
        const tls = https ? { certificateArn: args.certificateArn, sslPolicy: DEFAULT_SSL_POLICY } : {};

        this.listener = new aws.lb.Listener(
            `${name}-main`,
            applyTransform<aws.lb.ListenerArgs>(
                {
                    loadBalancerArn: args.loadBalancerArn,
                    port,
                    protocol,
                    ...tls,
                    defaultActions: [
                        {
                            type: "forward",
                            forward: {
                                targetGroups: [
                                    { arn: arns.blue, weight: traffic.blue },
                                    { arn: arns.green, weight: traffic.green },
                                ],
                                stickiness: {
                                    enabled: args.stickiness?.enabled ?? false,
                                    duration: checkedOutput(this, args.stickiness?.durationSeconds ?? 3600, (d) =>
                                        checkIntRange("stickiness durationSeconds", d, 1, 604800),
                                    ),
                                },
                            },
                        },
                    ],
                    tags,
                },
                t.listener,
            ),
            { parent: this },
        );

        this.testListener = new aws.lb.Listener(
            `${name}-test`,
            applyTransform<aws.lb.ListenerArgs>(
                {
                    loadBalancerArn: args.loadBalancerArn,
                    port: testPort,
                    protocol,
                    ...tls,
                    defaultActions: [
                        {
                            type: "forward",
                            forward: {
                                targetGroups: [{ arn: pulumi.all([idle, arns.blue, arns.green]).apply(([c, b, g]) => (c === "blue" ? b : g)), weight: 1 }],
                            },
                        },
                    ],
                    tags: testTags,
                },
                t.testListener,
            ),
            { parent: this },
        );

        this.listenerArn = this.listener.arn;
        this.testListenerArn = this.testListener.arn;
        this.traffic = traffic;
        this.idleColor = idle;
        this.port = port;
        this.testPort = testPort;
        this.scheme = pulumi.output(https ? "https" : "http");
        this.registerOutputs({
            listenerArn: this.listenerArn,
            testListenerArn: this.testListenerArn,
            traffic: this.traffic,
            idleColor: this.idleColor,
            port: this.port,
            testPort: this.testPort,
        });
    }
}
