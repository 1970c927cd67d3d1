// Names that tie kernel objects to the Pulumi resource that made them.
import * as pulumi from "@pulumi/pulumi";

/**
 * The owner mark a resource writes on what it creates (link alias, iptables comment): project,
 * stack and resource name, so two stacks on one host never claim each other's objects.
 */
export function ownerFor(resourceName: string): string {
    return `${pulumi.getProject()}/${pulumi.getStack()}/${resourceName}`;
}

/** What marks an object as ours: the prefix, then the owner (see ownerFor). */
const ownerMarkPrefix = "egress-xdp:";

export function ownerMark(owner: string): string {
    return `${ownerMarkPrefix}${owner}`;
}

/** A resource id that is unique on the host: the object's name, qualified by its namespace. */
export function qualifiedId(netns: string | undefined, name: string): string {
    return netns === undefined ? name : `${netns}/${name}`;
}
