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

export interface FrontDoorArgs {
    readonly role: Role;
    readonly vpcId: pulumi.Input<string>;
    /** Subnets of the ALB. */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** An internal ALB is reachable only inside the VPC (and what is peered or routed to it). */
    readonly internal: boolean;
    readonly appPort: pulumi.Input<number>;
    /** Ports of the listeners everyone allowed may reach. */
    readonly ports: pulumi.Input<number>[];
    /** Who may reach `ports`. Default: anyone (internet-facing) or the VPC (internal). */
    readonly allowedCidrBlocks?: pulumi.Input<pulumi.Input<string>[]>;
    /** Ports of test listeners. */
    readonly testPorts?: pulumi.Input<number>[];
    /** Who may reach `testPorts`. Default: the VPC. */
    readonly testAllowedCidrBlocks?: pulumi.Input<pulumi.Input<string>[]>;
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
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
