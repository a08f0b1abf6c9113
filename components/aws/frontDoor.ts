/**
 * The front door both BlueGreen and Sandbox build: an ALB, its security group, and the app's
 * security group (reachable only from the ALB, on the app's port). A function rather than a
 * component, so the children keep their names under the caller (`<name>-alb`, `<name>-alb-sg`,
 * `<name>-app-sg`).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Role, Transform, applyTransform } from "../types";
import { childTags } from "./common";

/** Transform hooks of the front door's children. */
export interface FrontDoorTransforms {
    /** Adjusts the ALB (`<name>-alb`). @default none */
    readonly loadBalancer?: Transform<aws.lb.LoadBalancerArgs>;
    /** Adjusts the ALB's security group (`<name>-alb-sg`). @default none */
    readonly loadBalancerSecurityGroup?: Transform<aws.ec2.SecurityGroupArgs>;
    /** Adjusts the app's security group (`<name>-app-sg`). @default none */
    readonly appSecurityGroup?: Transform<aws.ec2.SecurityGroupArgs>;
}

/** Arguments of frontDoor(). */
export interface FrontDoorArgs {
    /** Role of the stack, for the `switchyard:role` tag. Required: no default. */
    readonly role: Role;
    /** VPC of the security groups. Required: no default. */
    readonly vpcId: pulumi.Input<string>;
    /** Subnets of the ALB. Required: no default. */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * An internal ALB is reachable only inside the VPC (and what is peered or routed to it).
     * Required: no default.
     */
    readonly internal: boolean;
    /** Port the app listens on: the only port the ALB reaches and the app admits. Required: no default. */
    readonly appPort: pulumi.Input<number>;
    /** Ports of the listeners everyone allowed may reach. Required: no default. */
    readonly ports: pulumi.Input<number>[];
    /** Who may reach `ports`. @default ["0.0.0.0/0"] (internet-facing) or the VPC's CIDR block (internal) */
    readonly allowedCidrBlocks?: pulumi.Input<pulumi.Input<string>[]>;
    /** Ports of test listeners. @default [] */
    readonly testPorts?: pulumi.Input<number>[];
    /** Who may reach `testPorts`. @default the VPC's CIDR block */
    readonly testAllowedCidrBlocks?: pulumi.Input<pulumi.Input<string>[]>;
    /** Tags of the three children; `switchyard:role` is always set. @default {} */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Adjust a child's arguments before it is created. @default {}: no child is adjusted */
    readonly transform?: FrontDoorTransforms;
}

export interface FrontDoor {
    readonly loadBalancer: aws.lb.LoadBalancer;
    readonly loadBalancerSecurityGroup: aws.ec2.SecurityGroup;
    readonly appSecurityGroup: aws.ec2.SecurityGroup;
    readonly vpcCidr: pulumi.Output<string>;
}

/** Creates the ALB, its security group and the app's security group under `parent`. */
export function frontDoor(parent: pulumi.Resource, name: string, a: FrontDoorArgs): FrontDoor {
    const t = a.transform ?? {};
    const tags = childTags(a.role, a.tags);
    const vpcCidr = aws.ec2.getVpcOutput({ id: a.vpcId }, { parent }).cidrBlock;
    const allowed = a.allowedCidrBlocks ?? (a.internal ? [vpcCidr] : ["0.0.0.0/0"]);
    const testAllowed = a.testAllowedCidrBlocks ?? [vpcCidr];

    const loadBalancerSecurityGroup = new aws.ec2.SecurityGroup(
        `${name}-alb-sg`,
        applyTransform<aws.ec2.SecurityGroupArgs>(
            {
                description: `Switchyard: load balancer of ${name}`,
                vpcId: a.vpcId,
                ingress: [
                    ...a.ports.map((p) => ({ description: "listener", protocol: "tcp", fromPort: p, toPort: p, cidrBlocks: allowed })),
                    ...(a.testPorts ?? []).map((p) => ({ description: "test listener (idle color)", protocol: "tcp", fromPort: p, toPort: p, cidrBlocks: testAllowed })),
                ],
                egress: [{ description: "to the app's tasks", protocol: "tcp", fromPort: a.appPort, toPort: a.appPort, cidrBlocks: [vpcCidr] }],
                tags,
            },
            t.loadBalancerSecurityGroup,
        ),
        { parent },
    );

    const appSecurityGroup = new aws.ec2.SecurityGroup(
        `${name}-app-sg`,
        applyTransform<aws.ec2.SecurityGroupArgs>(
            {
                description: `Switchyard: app tasks of ${name}, reachable only from the load balancer`,
                vpcId: a.vpcId,
                ingress: [
                    {
                        description: "load balancer to app",
                        protocol: "tcp",
                        fromPort: a.appPort,
                        toPort: a.appPort,
                        securityGroups: [loadBalancerSecurityGroup.id],
                    },
                ],
                egress: [{ description: "image pulls, database, AWS APIs", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
                tags,
            },
            t.appSecurityGroup,
        ),
        { parent },
    );

    const loadBalancer = new aws.lb.LoadBalancer(
        `${name}-alb`,
        applyTransform<aws.lb.LoadBalancerArgs>(
            {
                loadBalancerType: "application",
                internal: a.internal,
                subnets: a.subnetIds,
                securityGroups: [loadBalancerSecurityGroup.id],
                dropInvalidHeaderFields: true,
                tags,
            },
            t.loadBalancer,
        ),
        { parent },
    );

    return { loadBalancer, loadBalancerSecurityGroup, appSecurityGroup, vpcCidr };
}
